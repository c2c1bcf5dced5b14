import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFixtures, ensureKokoroFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { postJson, readSse } from './support/sse';
import { startStack, type RunningStack } from './support/stack';

const KOKORO = 'mlx-omni-test/tiny-kokoro-fp32';
const KOKORO_4BIT = 'mlx-omni-test/tiny-kokoro-4bit';
const CHAT = 'mlx-omni-test/tiny-qwen3-fp32';
const TEXT = 'Hello world. This is a test of the speech route.';

type Format = 'mp3' | 'opus' | 'aac' | 'flac' | 'wav' | 'pcm';

/** ffprobe's view of an audio file: what a player will make of it. */
function probe(bytes: Buffer, format: Format): { codec: string; container: string; rate: number; channels: number } {
  const dir = mkdtempSync(join(tmpdir(), 'omni-speech-'));
  const path = join(dir, `audio.${format}`);
  writeFileSync(path, bytes);
  const raw = format === 'pcm' ? ['-f', 's16le', '-ar', '24000', '-ac', '1'] : [];
  const out = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', ...raw, '-show_entries', 'stream=codec_name,sample_rate,channels:format=format_name', '-of', 'json', path], { encoding: 'utf8' }),
  ) as { streams: Array<{ codec_name: string; sample_rate: string; channels: number }>; format: { format_name: string } };
  return { codec: out.streams[0].codec_name, container: out.format.format_name, rate: Number(out.streams[0].sample_rate), channels: out.streams[0].channels };
}

/** The file decoded back to 24 kHz mono samples in [-1, 1], as a player would. */
function decode(bytes: Buffer, format: Format): Float64Array {
  const raw = format === 'pcm' ? ['-f', 's16le', '-ar', '24000', '-ac', '1'] : [];
  const pcm = execFileSync('ffmpeg', ['-v', 'error', ...raw, '-i', 'pipe:0', '-f', 's16le', '-ac', '1', '-ar', '24000', 'pipe:1'], { input: bytes, maxBuffer: 1 << 28 });
  return Float64Array.from({ length: pcm.length / 2 }, (_, i) => pcm.readInt16LE(2 * i) / 32768);
}

/** The best correlation of `other` with `reference` over shifts of up to `maxLag` samples (codec delays). */
function bestCorrelation(reference: Float64Array, other: Float64Array, maxLag: number): number {
  let best = -1;
  for (let lag = -maxLag; lag <= maxLag; lag += 1) {
    let dot = 0;
    let a2 = 0;
    let b2 = 0;
    for (let i = 0; i < reference.length; i++) {
      const j = i + lag;
      if (j < 0 || j >= other.length) {
        continue;
      }
      dot += reference[i] * other[j];
      a2 += reference[i] ** 2;
      b2 += other[j] ** 2;
    }
    best = Math.max(best, dot / Math.sqrt(a2 * b2 || 1));
  }
  return best;
}

describe('/v1/audio/speech: Kokoro on a worker, as a BullMQ job (official OpenAI client)', () => {
  let stack: RunningStack;
  let client: OpenAI;
  let wav: Buffer;

  const speak = async (body: Record<string, unknown>) => {
    const response = await postJson(stack.baseUrl, '/v1/audio/speech', { model: KOKORO, voice: 'af_heart', input: TEXT, ...body });
    return { response, bytes: Buffer.from(await response.arrayBuffer()) };
  };

  beforeAll(async () => {
    const hub = testHubDir();
    await ensureKokoroFixtures(hub);
    await ensureFixtures(hub, [CHAT]);
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: hub, MLX_OMNI_JOB_WAIT_S: '120' } });
    await stack.waitUntilReady();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    const response = await client.audio.speech.create({ model: KOKORO, voice: 'af_heart', input: TEXT, response_format: 'wav' });
    wav = Buffer.from(await response.arrayBuffer());
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('lists the Kokoro fixtures as supported text-to-speech models, with their voices', async () => {
    const models = await stack.request('/v1/models');
    const kokoro = models.body.data.find((m: { id: string }) => m.id === KOKORO);
    expect(kokoro).toMatchObject({ kind: 'text-to-speech', family: 'kokoro', supported: true });
    const voices = await stack.request(`/v1/audio/voices?model=${encodeURIComponent(KOKORO)}`);
    expect(voices.status).toBe(200);
    expect(voices.body.object).toBe('list');
    expect(voices.body.data.map((v: { id: string }) => v.id)).toEqual(['af_alloy', 'af_heart', 'af_nova', 'am_echo', 'am_onyx', 'bf_emma', 'bm_fable', 'ef_dora']);
    expect(voices.body.data.find((v: { id: string }) => v.id === 'am_onyx')).toEqual({ id: 'am_onyx', object: 'voice', openai_name: 'onyx' });
    expect((await stack.request('/v1/audio/voices')).status).toBe(400);
    expect((await stack.request(`/v1/audio/voices?model=${encodeURIComponent(CHAT)}`)).body.error.code).toBe('model_not_supported');
  });

  it('answers the SDK with a real 16-bit 24 kHz mono WAV, synthesised on the worker (loaded_on shows it)', async () => {
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    expect(probe(wav, 'wav')).toEqual({ codec: 'pcm_s16le', container: 'wav', rate: 24000, channels: 1 });
    const samples = decode(wav, 'wav');
    expect(samples.length).toBeGreaterThan(1000);
    expect(Math.max(...samples.map(Math.abs))).toBeGreaterThan(0.01);
    const listed = await stack.request(`/v1/models/${encodeURIComponent(KOKORO)}`);
    expect(listed.body.loaded_on.length).toBe(1);
  });

  it.each<[Format, string, string, string, number]>([
    ['mp3', 'audio/mpeg', 'mp3', 'mp3', 0.9],
    ['opus', 'audio/ogg', 'opus', 'ogg', 0.6],
    ['aac', 'audio/aac', 'aac', 'aac', 0.85],
    ['flac', 'audio/flac', 'flac', 'flac', 0.999999],
    ['pcm', 'audio/pcm', 'pcm_s16le', 's16le', 0.999999],
  ])('%s: a real file of its format with its Content-Type, decoding back to the wav', async (format, contentType, codec, container, minCorrelation) => {
    const { response, bytes } = await speak({ response_format: format });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(contentType);
    // Opus always decodes at 48 kHz; its header (OpusHead) records the 24 kHz the audio was made at.
    expect(probe(bytes, format)).toEqual({ codec, container, rate: format === 'opus' ? 48000 : 24000, channels: 1 });
    if (format === 'opus') {
      const head = bytes.indexOf('OpusHead');
      expect(bytes.readUInt32LE(head + 12)).toBe(24000);
    }
    const reference = decode(wav, 'wav');
    const decoded = decode(bytes, format);
    // Lossy codecs pad the start and end by up to a few frames.
    expect(Math.abs(decoded.length - reference.length)).toBeLessThan(3000);
    expect(bestCorrelation(reference, decoded, format === 'flac' || format === 'pcm' ? 0 : 2500)).toBeGreaterThan(minCorrelation);
  });

  it('gives the same audio for the same request and seed, and different audio for another seed', async () => {
    const again = await speak({ response_format: 'wav' });
    expect(again.bytes.equals(wav)).toBe(true);
    const seeded = await speak({ response_format: 'wav', seed: 12345 });
    expect(seeded.bytes.equals(wav)).toBe(false);
    expect(seeded.bytes.length).toBe(wav.length);
  });

  it("reports each chunk's phonemes in the job, and serves the same file at /v1/files", async () => {
    const input = `${'The quick brown fox jumps over the lazy dog. '.repeat(14)}\nA second paragraph.`;
    const { response, bytes } = await speak({ input, response_format: 'flac' });
    const jobId = response.headers.get('x-mlx-omni-job-id')!;
    const job = await stack.request(`/v1/jobs/${jobId}`);
    expect(job.body).toMatchObject({ queue: 'speech', name: 'synthesize', status: 'completed' });
    const result = job.body.result;
    expect(result).toMatchObject({ model: KOKORO, voice: 'af_heart', response_format: 'flac', sample_rate: 24000 });
    expect(result.chunks.length).toBeGreaterThan(2);
    for (const chunk of result.chunks) {
      expect([...chunk.phonemes].length).toBeLessThanOrEqual(510);
      expect(chunk.frames).toBeGreaterThan(0);
    }
    expect(result.chunks.at(-1).phonemes).toMatch(/^ɐ sˈɛkənd p.*ɡɹ.*f\.$/);
    expect(result.chunks[0].phonemes.startsWith('ðə kwˈɪk bɹˈaʊn fˈɑːks')).toBe(true);
    const samples = result.chunks.reduce((n: number, c: { samples: number }) => n + c.samples, 0);
    expect(result.audio_seconds).toBeCloseTo(samples / 24000, 6);
    const file = await fetch(`${stack.baseUrl}/v1/files/${result.file.id}/content`);
    expect(file.headers.get('content-type')).toBe('audio/flac');
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('streams mp3 as it is synthesised (chunked) and as speech.audio.delta / speech.audio.done events', async () => {
    // Whether this short one is sent as it grows or whole depends on timing; the chat-sharing test below
    // shows a response starting while its job still runs.
    const whole = await speak({ response_format: 'mp3' });
    const events = [];
    const response = await postJson(stack.baseUrl, '/v1/audio/speech', { model: KOKORO, voice: 'af_heart', input: TEXT, response_format: 'mp3', stream_format: 'sse' });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    for await (const event of readSse(response)) {
      events.push(event as Record<string, any>);
    }
    const done = events.at(-1)!;
    expect(done.type).toBe('speech.audio.done');
    expect(done.usage.input_tokens).toBeGreaterThan(10);
    expect(done.usage.total_tokens).toBe(done.usage.input_tokens + done.usage.output_tokens);
    const deltas = events.slice(0, -1);
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.every((e) => e.type === 'speech.audio.delta')).toBe(true);
    expect(Buffer.concat(deltas.map((e) => Buffer.from(e.audio, 'base64'))).equals(whole.bytes)).toBe(true);
  });

  it('maps OpenAI voice names to their Kokoro counterparts, ignores instructions with a header, and speaks the 4-bit model', async () => {
    const alloy = await client.audio.speech.create({ model: KOKORO, voice: 'alloy', input: TEXT, response_format: 'wav', instructions: 'Speak cheerfully' } as never);
    const direct = await speak({ voice: 'af_alloy', response_format: 'wav' });
    expect(Buffer.from(await alloy.arrayBuffer()).equals(direct.bytes)).toBe(true);
    expect(alloy.headers.get('x-mlx-omni-ignored-parameters')).toBe('instructions');
    const quantized = await postJson(stack.baseUrl, '/v1/audio/speech', { model: KOKORO_4BIT, voice: { id: 'bm_fable' }, input: 'Good morning.', response_format: 'wav' });
    expect(quantized.status).toBe(200);
    expect(probe(Buffer.from(await quantized.arrayBuffer()), 'wav').rate).toBe(24000);
  });

  it('queues concurrent requests and answers each', async () => {
    const inputs = ['One.', 'Two.', 'Three.'];
    const answers = await Promise.all(inputs.map((input) => speak({ input, response_format: 'pcm' })));
    expect(answers.map((a) => a.response.status)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((a) => a.bytes.length)).size).toBeGreaterThan(1);
    const metrics = await stack.request('/metrics');
    expect(metrics.text).toMatch(/mlx_omni_queue_jobs\{queue="speech",state="completed"\} [1-9]/);
  });

  it('shares the worker with chat: a chat completion finishes while a long speech job is still synthesising', async () => {
    const input = Array.from({ length: 10 }, (_, i) => `Paragraph ${i + 1}. The quick brown fox jumps over the lazy dog.`).join('\n');
    // pcm is sent as it grows: the response starts once the first chunk is written.
    const speech = await postJson(stack.baseUrl, '/v1/audio/speech', { model: KOKORO, voice: 'af_heart', input, response_format: 'pcm' });
    expect(speech.headers.get('content-length')).toBeNull();
    const jobId = speech.headers.get('x-mlx-omni-job-id')!;
    const chat = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8 });
    expect(chat.choices[0].message.content).toEqual(expect.any(String));
    const during = await stack.request(`/v1/jobs/${jobId}`);
    expect(during.body.status).toBe('active');
    expect(during.body.progress.chunks_done).toBeLessThan(10);
    const audio = Buffer.from(await speech.arrayBuffer());
    const done = await stack.request(`/v1/jobs/${jobId}`);
    expect(done.body.result.chunks).toHaveLength(10);
    expect(audio.length).toBe(2 * done.body.result.chunks.reduce((n: number, c: { samples: number }) => n + c.samples, 0));
  });

  it('answers bad input with 4xx in the OpenAI envelope, never a 5xx', async () => {
    const expectBad = async (body: Record<string, unknown>, param: string) => {
      const error = await client.audio.speech.create({ model: KOKORO, voice: 'af_heart', input: TEXT, ...body } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).error).toMatchObject({ type: 'invalid_request_error', param });
      return (error as BadRequestError).message;
    };
    await expectBad({ input: '' }, 'input');
    await expectBad({ input: '   ' }, 'input');
    await expectBad({ input: 'a'.repeat(4097) }, 'input');
    await expectBad({ speed: 0.1 }, 'speed');
    await expectBad({ speed: 4.5 }, 'speed');
    await expectBad({ response_format: 'ogg' }, 'response_format');
    expect(await expectBad({ voice: 'shimmer' }, 'voice')).toMatch(/af_heart.*bm_fable/);
    expect(await expectBad({ voice: 'zz_nobody' }, 'voice')).toMatch(/this model's voices: af_alloy, af_heart/);
    expect(await expectBad({ model: CHAT }, 'model')).toMatch(/kind chat/);
    expect(await expectBad({ input: '|||' }, 'input')).toMatch(/nothing to pronounce/);
    const missing = await client.audio.speech.create({ model: 'nobody/no-such-tts', voice: 'af_heart', input: TEXT }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
  });
});
