import OpenAI, { BadRequestError } from 'openai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureF5Fixtures, ensureFixtures, speak, testHubDir } from '@mlx-omni/model-fixtures';
import { keysCli } from './support/keys';
import { postJson } from './support/sse';
import { startStack, type RunningStack } from './support/stack';

const F5 = 'mlx-omni-test/tiny-f5-tts-fp32';
const F5_4BIT = 'mlx-omni-test/tiny-f5-tts-4bit';
const CHAT = 'mlx-omni-test/tiny-qwen3-fp32';
const ADMIN_KEY = 'test-admin-key-f5-0123456789';
const TRANSCRIPT = 'Some call me nature, others call me mother nature. I have been here for a very long time.';
const TEXT = 'Hello world. This is a cloned voice.';

/** The file's audio stream as ffprobe sees it. */
function probe(bytes: Buffer): { codec: string; rate: number; channels: number; seconds: number } {
  const path = join(mkdtempSync(join(tmpdir(), 'omni-f5-')), 'audio.wav');
  writeFileSync(path, bytes);
  const out = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,sample_rate,channels,duration', '-of', 'json', path], { encoding: 'utf8' })) as {
    streams: Array<{ codec_name: string; sample_rate: string; channels: number; duration: string }>;
  };
  const [stream] = out.streams;
  return { codec: stream.codec_name, rate: Number(stream.sample_rate), channels: stream.channels, seconds: Number(stream.duration) };
}

/** `count` seconds of silence, or of a tone, as a WAV made by ffmpeg. */
function generated(dir: string, name: string, source: string, seconds: number): string {
  const path = join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `${source}:d=${seconds}`, '-ar', '22050', '-ac', '1', '-y', path]);
  return path;
}

describe('/v1/audio/voices and F5-TTS speech on a worker (official OpenAI client, plain HTTP for the voice routes)', () => {
  let stack: RunningStack;
  let admin: OpenAI;
  let userKey: string;
  let clips: Record<'speech' | 'mp3' | 'short' | 'long' | 'silent' | 'text', string>;

  const auth = (key: string) => ({ authorization: `Bearer ${key}` });

  /** POST /v1/audio/voices as multipart/form-data; `file` goes in audio_sample. */
  const register = async (fields: Record<string, string>, file?: string, key = ADMIN_KEY) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      form.append(name, value);
    }
    if (file !== undefined) {
      form.append('audio_sample', new Blob([readFileSync(file)]), file.split('/').at(-1));
    }
    const response = await fetch(`${stack.baseUrl}/v1/audio/voices`, { method: 'POST', body: form, headers: auth(key) });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  const voicesOf = async (model: string, key = ADMIN_KEY) => (await stack.request(`/v1/audio/voices?model=${encodeURIComponent(model)}`, { headers: auth(key) })).body;

  beforeAll(async () => {
    const hub = testHubDir();
    await ensureF5Fixtures(hub);
    await ensureFixtures(hub, [CHAT]);
    const scratch = mkdtempSync(join(tmpdir(), 'omni-f5-clips-'));
    clips = {
      speech: await speak(TRANSCRIPT, join(scratch, 'speech.wav'), { wordsPerMinute: 170 }),
      mp3: await speak(TRANSCRIPT, join(scratch, 'speech.mp3'), { wordsPerMinute: 150 }),
      short: await speak('Too short.', join(scratch, 'short.wav')),
      long: generated(scratch, 'long.wav', 'sine=frequency=220', 20),
      silent: generated(scratch, 'silent.wav', 'anullsrc=r=22050:cl=mono', 8),
      text: join(scratch, 'notes.txt'),
    };
    writeFileSync(clips.text, 'not audio at all');
    const keysFile = join(scratch, 'keys.json');
    userKey = keysCli(keysFile, 'add', 'alice', '--role', 'user');
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: hub, MLX_OMNI_JOB_WAIT_S: '120', MLX_OMNI_API_KEY: ADMIN_KEY, MLX_OMNI_KEYS_FILE: keysFile } });
    await stack.waitUntilReady();
    admin = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: ADMIN_KEY, maxRetries: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('lists both F5-TTS fixtures as supported text-to-speech models speaking through the cached Vocos, with no voices before one is registered', async () => {
    const models = await stack.request('/v1/models', { headers: auth(ADMIN_KEY) });
    for (const id of [F5, F5_4BIT]) {
      expect(models.body.data.find((m: { id: string }) => m.id === id)).toMatchObject({
        kind: 'text-to-speech',
        family: 'f5-tts',
        supported: true,
        companions: [{ repo: 'lucasnewman/vocos-mel-24khz', provides: 'the Vocos vocoder', cached: true }],
      });
    }
    expect(await voicesOf(F5)).toEqual({ object: 'list', model: F5, data: [] });
    const error = await admin.audio.speech.create({ model: F5, voice: 'narrator', input: TEXT }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).error).toMatchObject({ param: 'voice', code: 'invalid_value' });
    expect((error as BadRequestError).message).toMatch(/no voices are registered yet.*POST \/v1\/audio\/voices|POST \/v1\/audio\/voices.*no voices are registered yet/);
  });

  it('registers a voice (admin only), stores the clip at 24 kHz under the state directory and lists it for any key', async () => {
    expect((await register({ name: 'narrator', transcript: TRANSCRIPT }, clips.speech, userKey)).status).toBe(403);
    const created = await register({ name: 'narrator', transcript: TRANSCRIPT }, clips.speech);
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ object: 'audio.voice', id: 'narrator', name: 'narrator', transcript: TRANSCRIPT, created_at: expect.any(Number) });
    expect(created.body.duration_seconds).toBeGreaterThan(5);
    expect(probe(readFileSync(join(stack.stateDir, 'voices', 'narrator', 'reference.wav')))).toMatchObject({ codec: 'pcm_s16le', rate: 24000, channels: 1 });
    // Any format ffmpeg reads: an mp3 of the same words.
    expect((await register({ name: 'narrator.mp3', transcript: TRANSCRIPT }, clips.mp3)).status).toBe(200);
    const listed = await voicesOf(F5, userKey);
    expect(listed.data.map((v: { id: string }) => v.id)).toEqual(['narrator', 'narrator.mp3']);
    expect(listed.data[0]).toMatchObject({ id: 'narrator', object: 'voice', transcript: TRANSCRIPT, duration_seconds: created.body.duration_seconds });
    // The same voices for every model that clones, none of them for Kokoro-style models.
    expect((await voicesOf(F5_4BIT)).data.map((v: { id: string }) => v.id)).toEqual(['narrator', 'narrator.mp3']);
  });

  it('speaks in the registered voice through the SDK: a real 24 kHz WAV, the same for the same seed, the reference cut off', async () => {
    const response = await admin.audio.speech.create({ model: F5, voice: 'narrator', input: TEXT, response_format: 'wav' });
    const wav = Buffer.from(await response.arrayBuffer());
    expect(probe(wav)).toMatchObject({ codec: 'pcm_s16le', rate: 24000, channels: 1 });
    const jobId = response.headers.get('x-mlx-omni-job-id')!;
    const job = await stack.request(`/v1/jobs/${jobId}`, { headers: auth(ADMIN_KEY) });
    expect(job.body.result).toMatchObject({ model: F5, voice: 'narrator', sample_rate: 24000 });
    expect(job.body.result.chunks.map((c: { phonemes: string }) => c.phonemes)).toEqual([TEXT]);
    const [chunk] = job.body.result.chunks;
    // The samples are the generated frames' (hop 256; the inverse STFT ends mid-way into the last), none of the reference's 5+ s.
    expect(chunk.samples).toBe((chunk.frames - 1) * 256);
    expect(job.body.result.audio_seconds).toBeLessThan(5);
    const again = await postJson(stack.baseUrl, '/v1/audio/speech', { model: F5, voice: 'narrator', input: TEXT, response_format: 'wav' }, { headers: auth(ADMIN_KEY) });
    expect(Buffer.from(await again.arrayBuffer()).equals(wav)).toBe(true);
    const reseeded = await postJson(stack.baseUrl, '/v1/audio/speech', { model: F5, voice: 'narrator', input: TEXT, response_format: 'wav', seed: 99 }, { headers: auth(ADMIN_KEY) });
    expect(Buffer.from(await reseeded.arrayBuffer()).equals(wav)).toBe(false);
    const listed = await stack.request(`/v1/models/${encodeURIComponent(F5)}`, { headers: auth(ADMIN_KEY) });
    expect(listed.body.loaded_on.length).toBe(1);
  });

  it('speaks with the 4-bit conversion (durations from the reference) and honours speed, a user key allowed', async () => {
    const user = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: userKey, maxRetries: 0 });
    const lengthAt = async (speed: number) => {
      const response = await user.audio.speech.create({ model: F5_4BIT, voice: { id: 'narrator' } as never, input: TEXT, response_format: 'pcm', speed });
      return (await response.arrayBuffer()).byteLength / 2;
    };
    const normal = await lengthAt(1);
    const fast = await lengthAt(2);
    expect(normal).toBeGreaterThan(0);
    expect(fast / normal).toBeGreaterThan(0.4);
    expect(fast / normal).toBeLessThan(0.6);
  });

  it('answers every bad registration with a 4xx in the OpenAI envelope, never a 5xx', async () => {
    const expectError = async (status: number, fields: Record<string, string>, file: string | undefined, param: string | null, message: RegExp) => {
      const { status: got, body } = await register(fields, file);
      expect([got, body.error?.param]).toEqual([status, param]);
      expect(body.error.message).toMatch(message);
    };
    await expectError(400, { transcript: TRANSCRIPT }, clips.speech, 'name', /"name" is required/);
    await expectError(400, { name: '../escape', transcript: TRANSCRIPT }, clips.speech, 'name', /not a voice name/);
    await expectError(400, { name: 'quiet' }, clips.speech, 'transcript', /"transcript" is required/);
    await expectError(400, { name: 'quiet', transcript: 'x'.repeat(1001) }, clips.speech, 'transcript', /at most 1000/);
    await expectError(400, { name: 'quiet', transcript: TRANSCRIPT }, undefined, 'audio_sample', /No audio/);
    await expectError(400, { name: 'quiet', transcript: 'Too short.' }, clips.short, 'audio_sample', /needs 5 to 15 s/);
    await expectError(400, { name: 'quiet', transcript: TRANSCRIPT }, clips.long, 'audio_sample', /20\.0 s long/);
    await expectError(400, { name: 'quiet', transcript: TRANSCRIPT }, clips.silent, 'audio_sample', /silent/);
    await expectError(400, { name: 'quiet', transcript: TRANSCRIPT }, clips.text, 'audio_sample', /could not be decoded/);
    await expectError(409, { name: 'narrator', transcript: TRANSCRIPT }, clips.speech, 'name', /already registered/);
    const json = await postJson(stack.baseUrl, '/v1/audio/voices', { name: 'quiet' }, { headers: auth(ADMIN_KEY) });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: { message: string } }).error.message).toMatch(/multipart\/form-data/);
    expect((await voicesOf(F5)).data.map((v: { id: string }) => v.id)).toEqual(['narrator', 'narrator.mp3']);
  });

  it('answers bad speech requests to F5 with 4xx: unknown voice (listing the registered ones), a Kokoro or OpenAI voice name, a chat model', async () => {
    const expectBad = async (body: Record<string, unknown>, param: string) => {
      const error = await admin.audio.speech.create({ model: F5, voice: 'narrator', input: TEXT, ...body } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).error).toMatchObject({ type: 'invalid_request_error', param });
      return (error as BadRequestError).message;
    };
    expect(await expectBad({ voice: 'nobody' }, 'voice')).toMatch(/registered voices: narrator, narrator\.mp3/);
    expect(await expectBad({ voice: 'alloy' }, 'voice')).toMatch(/Unknown voice "alloy"/);
    await expectBad({ input: '' }, 'input');
    await expectBad({ speed: 5 }, 'speed');
    expect(await expectBad({ model: CHAT }, 'model')).toMatch(/kind chat/);
  });

  it('deletes a voice (admin only); requests naming it are then a 400, deleting it again a 404', async () => {
    const remove = (name: string, key = ADMIN_KEY) => stack.request(`/v1/audio/voices/${encodeURIComponent(name)}`, { method: 'DELETE', headers: auth(key) });
    expect((await remove('narrator.mp3', userKey)).status).toBe(403);
    const deleted = await remove('narrator.mp3');
    expect([deleted.status, deleted.body]).toEqual([200, { id: 'narrator.mp3', object: 'audio.voice', deleted: true }]);
    const again = await remove('narrator.mp3');
    expect([again.status, again.body.error.code]).toEqual([404, 'voice_not_found']);
    expect((await voicesOf(F5)).data.map((v: { id: string }) => v.id)).toEqual(['narrator']);
    const error = await admin.audio.speech.create({ model: F5, voice: 'narrator.mp3', input: TEXT }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
  });
});
