import { core as mx } from '@frost-beta/mlx';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFixtures, ensureWhisperFixtures, speak, testHubDir } from '@mlx-omni/model-fixtures';
import { companionFoldersAt } from '@mlx-omni/model-hub';
import { expectOpenAiSchema } from '@mlx-omni/openai-dto/testing';
import { decodeAudioFile, languageName, loadWhisper, transcribe, type TranscriptSegment } from '@mlx-omni/mlx-native';
import { startStack, type RunningStack } from './support/stack';

jest.setTimeout(600_000);

const WHISPER = 'mlx-omni-test/tiny-whisper-fp16';
const WHISPER_V3 = 'mlx-omni-test/tiny-whisper-v3-4bit';
const LLAMA = 'mlx-omni-test/tiny-llama-fp32';
const AUDIO_LIMIT = 2 * 1024 * 1024;

/** SRT or WebVTT cues: start and end in seconds, and the text. */
function parseCues(body: string, format: 'srt' | 'vtt'): Array<{ start: number; end: number; text: string }> {
  const seconds = (stamp: string) => {
    const parts = stamp.replace(',', '.').split(':').map(Number);
    return parts.reduce((total, part) => total * 60 + part, 0);
  };
  const blocks = body.trim().split(/\n\n+/);
  if (format === 'vtt') {
    expect(blocks.shift()).toBe('WEBVTT');
  }
  return blocks.map((block) => {
    const lines = block.split('\n');
    if (format === 'srt') {
      expect(/^\d+$/.test(lines.shift()!)).toBe(true);
    }
    const [start, end] = lines[0].split(' --> ');
    return { start: seconds(start), end: seconds(end), text: lines.slice(1).join('\n') };
  });
}

describe('audio transcriptions and translations through the official OpenAI client', () => {
  let stack: RunningStack;
  let client: OpenAI;
  let scratch: string;
  let speech: string;
  let whisperDir: string;

  beforeAll(async () => {
    const hub = testHubDir();
    const dirs = await ensureWhisperFixtures(hub);
    whisperDir = dirs.get(WHISPER)!;
    await ensureFixtures(hub, [LLAMA]);
    scratch = await mkdtemp(join(tmpdir(), 'audio-e2e-'));
    speech = await speak('Hello world. This is a test of the transcription service.', join(scratch, 'speech.wav'));
    // A Whisper conversion whose tokenizer (openai/whisper-medium.en, by its vocabulary) is not cached.
    const orphan = join(scratch, 'models', 'whisper-medium.en-orphan');
    await mkdir(orphan, { recursive: true });
    await writeFile(
      join(orphan, 'config.json'),
      JSON.stringify({ n_mels: 80, n_audio_ctx: 1500, n_audio_state: 64, n_audio_head: 4, n_audio_layer: 1, n_vocab: 51864, n_text_ctx: 64, n_text_state: 64, n_text_head: 4, n_text_layer: 1, model_type: 'whisper' }),
    );
    mx.saveSafetensors(join(orphan, 'weights.safetensors'), { 'decoder.ln.weight': mx.ones([64]) });
    stack = await startStack({
      workers: 1,
      env: { HF_HUB_CACHE: hub, MLX_OMNI_AUDIO_MAX_BYTES: String(AUDIO_LIMIT), MLX_OMNI_MODEL_DIRS: join(scratch, 'models') },
    });
    await stack.waitUntilReady();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  // The engine itself is checked against the independent float64 reference in libs/mlx-native
  // (whisper.spec.ts); here the same engine, run in this process, is what the API must deliver.
  it('transcribes with timestamps exactly as the engine does in-process (verbose_json, schema-valid)', async () => {
    const verbose = await client.audio.transcriptions.create({ file: createReadStream(speech), model: WHISPER, response_format: 'verbose_json', temperature: 0 });
    expectOpenAiSchema('CreateTranscriptionResponseVerboseJson', verbose);
    const whisper = await loadWhisper(whisperDir, { companions: await companionFoldersAt(whisperDir, { hubCache: testHubDir() }) });
    const events = transcribe(whisper, await decodeAudioFile(speech), { task: 'transcribe', temperature: 0 });
    const segments: TranscriptSegment[] = [];
    let next = await events.next();
    for (; !next.done; next = await events.next()) {
      if (next.value.type === 'segment') {
        segments.push(next.value.segment);
      }
    }
    const expected = { text: next.value.text, language: next.value.language, segments };
    expect(verbose.language).toBe(languageName(expected.language));
    expect(verbose.duration).toBeCloseTo(next.value.duration, 6);
    expect(verbose.text).toBe(expected.text);
    expect(verbose.segments!.map((segment) => segment.text)).toEqual(expected.segments.map((segment) => segment.text));
    verbose.segments!.forEach((segment, i) => {
      expect(segment.id).toBe(i);
      expect(segment.start).toBeCloseTo(expected.segments[i].start, 9);
      expect(segment.end).toBeCloseTo(expected.segments[i].end, 9);
      expect(segment.tokens).toEqual(expected.segments[i].tokens);
    });
    expect(verbose.usage).toEqual({ type: 'duration', seconds: Math.ceil(verbose.duration) });
    expect(await readdir(join(stack.stateDir, 'uploads'))).toEqual([]);
  });

  it('answers json, text, srt and vtt that parse back to the same transcript', async () => {
    const file = () => createReadStream(speech);
    const verbose = await client.audio.transcriptions.create({ file: file(), model: WHISPER, response_format: 'verbose_json', temperature: 0, language: 'en' });
    const json = await client.audio.transcriptions.create({ file: file(), model: WHISPER, temperature: 0, language: 'en' });
    expectOpenAiSchema('CreateTranscriptionResponseJson', json);
    expect(json.text).toBe(verbose.text);
    const text = await client.audio.transcriptions.create({ file: file(), model: WHISPER, response_format: 'text', temperature: 0, language: 'en' });
    expect(text).toBe(`${verbose.text}\n`);
    for (const format of ['srt', 'vtt'] as const) {
      const body = await client.audio.transcriptions.create({ file: file(), model: WHISPER, response_format: format, temperature: 0, language: 'en' });
      const cues = parseCues(body as unknown as string, format);
      expect(cues.map((cue) => cue.text)).toEqual(verbose.segments!.map((segment) => segment.text.trim()));
      cues.forEach((cue, i) => {
        expect(cue.start).toBeCloseTo(verbose.segments![i].start, 3);
        expect(cue.end).toBeCloseTo(verbose.segments![i].end, 3);
      });
    }
  });

  it('gives word timestamps with timestamp_granularities[]=word', async () => {
    const verbose = await client.audio.transcriptions.create({
      file: createReadStream(speech),
      model: WHISPER,
      response_format: 'verbose_json',
      temperature: 0,
      timestamp_granularities: ['word', 'segment'],
    });
    expectOpenAiSchema('CreateTranscriptionResponseVerboseJson', verbose);
    const words = verbose.words!;
    expect(words.length).toBeGreaterThan(0);
    expect(words.map((word) => word.word).join('')).toBe(verbose.segments!.map((segment) => segment.text).join(''));
    for (const word of words) {
      expect(word.end).toBeGreaterThanOrEqual(word.start);
    }
    const onlyWords = await client.audio.transcriptions.create({ file: createReadStream(speech), model: WHISPER, response_format: 'verbose_json', temperature: 0, timestamp_granularities: ['word'] });
    expect(onlyWords.segments).toBeUndefined();
    expect(onlyWords.words).toEqual(words);
  });

  it('translates with the translate task, and streams transcript events that add up to the text', async () => {
    const translation = (await client.audio.translations.create({ file: createReadStream(speech), model: WHISPER, response_format: 'verbose_json', temperature: 0 })) as OpenAI.Audio.TranslationVerbose;
    expectOpenAiSchema('CreateTranslationResponseVerboseJson', translation);
    expect(translation.language).toBe('english');
    const transcription = await client.audio.transcriptions.create({ file: createReadStream(speech), model: WHISPER, response_format: 'verbose_json', temperature: 0 });
    // The translate task token changes the decoding: a random model says something else.
    expect(translation.segments!.map((segment) => segment.tokens)).not.toEqual(transcription.segments!.map((segment) => segment.tokens));

    const stream = await client.audio.transcriptions.create({ file: createReadStream(speech), model: WHISPER, temperature: 0, stream: true });
    const deltas: string[] = [];
    let done: string | undefined;
    for await (const event of stream) {
      if (event.type === 'transcript.text.delta') {
        expectOpenAiSchema('TranscriptTextDeltaEvent', event);
        deltas.push(event.delta);
      } else if (event.type === 'transcript.text.done') {
        expectOpenAiSchema('TranscriptTextDoneEvent', event);
        done = event.text;
      }
    }
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(transcription.text);
    expect(done).toBe(transcription.text);
  });

  it('decodes every common container, and the 4-bit large-v3 layout with its fallback schedule', async () => {
    for (const extension of ['mp3', 'flac', 'ogg', 'm4a', 'webm', 'mp4']) {
      const path = await speak('Testing one two three.', join(scratch, `speech.${extension}`));
      const result = await client.audio.transcriptions.create({ file: createReadStream(path), model: WHISPER, response_format: 'verbose_json', temperature: 0 });
      expect([extension, Math.abs(result.duration - 1.5) < 1.5]).toEqual([extension, true]);
    }
    // No temperature: each window runs down 0, 0.2 … 1.0 while its text looks like a failure. The random
    // model's greedy text for the first window loops (compression ratio far above 2.4), so it falls back past 0.
    const greedy = await client.audio.transcriptions.create({ file: createReadStream(speech), model: WHISPER_V3, response_format: 'verbose_json', temperature: 0 });
    expect(greedy.segments![0].compression_ratio).toBeGreaterThan(2.4);
    const fallback = await client.audio.transcriptions.create({ file: createReadStream(speech), model: WHISPER_V3, response_format: 'verbose_json' });
    expect(fallback.segments![0].temperature).toBeGreaterThan(0);
    for (const segment of fallback.segments!) {
      expect([0, 0.2, 0.4, 0.6, 0.8, 1]).toContain(segment.temperature);
    }
  });

  it('refuses bad requests with OpenAI errors, never a 5xx', async () => {
    const post = async (route: string, form: FormData) => stack.request(`/v1/audio/${route}`, { method: 'POST', body: form });
    const form = (fields: Record<string, string>, file?: Blob, name = 'speech.wav') => {
      const data = new FormData();
      for (const [key, value] of Object.entries(fields)) {
        data.append(key, value);
      }
      if (file) {
        data.append('file', file, name);
      }
      return data;
    };
    const wav = new Blob([await readFile(speech)]);

    const noFile = await post('transcriptions', form({ model: WHISPER }));
    expect([noFile.status, noFile.body.error.param]).toEqual([400, 'file']);
    const empty = await post('transcriptions', form({ model: WHISPER }, new Blob([])));
    expect([empty.status, empty.body.error.param, empty.body.error.message]).toEqual([400, 'file', 'The audio file is empty']);
    const notAudio = await post('transcriptions', form({ model: WHISPER }, new Blob(['this is plain text, not audio']), 'notes.txt'));
    expect([notAudio.status, notAudio.body.error.param]).toEqual([400, 'file']);
    expect(notAudio.body.error.message).toMatch(/could not be decoded/);
    const badFormat = await post('transcriptions', form({ model: WHISPER, response_format: 'docx' }, wav));
    expect([badFormat.status, badFormat.body.error.param]).toEqual([400, 'response_format']);
    const badLanguage = await post('transcriptions', form({ model: WHISPER, language: 'klingon' }, wav));
    expect([badLanguage.status, badLanguage.body.error.param]).toEqual([400, 'language']);
    const wordsWithoutVerbose = await post('transcriptions', form({ model: WHISPER, 'timestamp_granularities[]': 'word' }, wav));
    expect([wordsWithoutVerbose.status, wordsWithoutVerbose.body.error.param]).toEqual([400, 'timestamp_granularities']);
    const notMultipart = await stack.request('/v1/audio/transcriptions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: WHISPER }) });
    expect(notMultipart.status).toBe(400);
    const tooLarge = await post('transcriptions', form({ model: WHISPER }, new Blob([new Uint8Array(AUDIO_LIMIT + 1)])));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.message).toMatch(/MLX_OMNI_AUDIO_MAX_BYTES/);
    const orphan = await post('transcriptions', form({ model: 'whisper-medium.en-orphan' }, wav));
    expect([orphan.status, orphan.body.error.param]).toEqual([400, 'model']);
    expect(orphan.body.error.message).toMatch(/openai\/whisper-medium\.en/);

    await expect(client.audio.transcriptions.create({ file: createReadStream(speech), model: LLAMA })).rejects.toBeInstanceOf(BadRequestError);
    await expect(client.audio.translations.create({ file: createReadStream(speech), model: 'no-such/model' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await readdir(join(stack.stateDir, 'uploads'))).toEqual([]);
  });
});
