import { core as mx } from '@frost-beta/mlx';
import { ensureWhisperFixtures, speak, testHubDir } from '@mlx-omni/model-fixtures';
import { companionFoldersAt } from '@mlx-omni/model-hub';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAudioFile } from '../audio/decode-audio';
import { logMelSpectrogram, melFilterbank } from '../audio/log-mel';
import { loadWhisper } from './load';
import { transcribe, type LoadedWhisper, type TranscribeOptions, type TranscriptSegment, type TranscriptSummary } from './transcribe';
import { ReferenceWhisper, referenceLogMel, referenceMelFilters, referenceTranscribe } from './__fixtures__/reference-whisper';
import { whisperTokenizerDir } from './tokenizer-source';

jest.setTimeout(600_000);

const FP16 = 'mlx-omni-test/tiny-whisper-fp16';
const V3_4BIT = 'mlx-omni-test/tiny-whisper-v3-4bit';

let dirs: Map<string, string>;
let scratch: string;
let short: Float32Array;
let long: Float32Array;

beforeAll(async () => {
  dirs = await ensureWhisperFixtures(testHubDir());
  scratch = await mkdtemp(join(tmpdir(), 'whisper-spec-'));
  short = await decodeAudioFile(await speak('Hello world. This is a test of the transcription service.', join(scratch, 'short.wav')));
  // Past one 30-second window, so the second window seeks, and is prompted with the first one's tokens.
  const paragraph = 'The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. ';
  long = await decodeAudioFile(await speak(paragraph.repeat(5), join(scratch, 'long.mp3'), { wordsPerMinute: 140 }));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  await new Promise(setImmediate);
});

async function run(whisper: LoadedWhisper, samples: Float32Array, options: TranscribeOptions): Promise<{ segments: TranscriptSegment[]; summary: TranscriptSummary; language: string }> {
  const segments: TranscriptSegment[] = [];
  let language = '';
  const events = transcribe(whisper, samples, options);
  for (;;) {
    const next = await events.next();
    if (next.done) {
      return { segments, summary: next.value, language };
    }
    if (next.value.type === 'language') {
      language = next.value.language;
    } else {
      segments.push(next.value.segment);
    }
  }
}

describe('front end', () => {
  it('builds the mel filters Whisper ships (librosa, Slaney): published sums and entries', () => {
    // From mlx_whisper's assets/mel_filters.npz (librosa.filters.mel(sr=16000, n_fft=400, n_mels=80/128)).
    const published = {
      80: { sum: 1.999024092387117, weighted: 15997.736348704944, max: 0.025880683213472366, argmax: 13 * 201 + 13, last: 0.0004487590049393475 },
      128: { sum: 3.1909855409403463, weighted: 41033.31995464984, max: 0.04168175160884857, argmax: 11 * 201 + 7, last: 0.0011142801959067583 },
    };
    for (const [bins, expected] of Object.entries(published)) {
      const filters = melFilterbank(Number(bins));
      const values = Array.from(filters);
      expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(expected.sum, 6);
      expect(values.reduce((s, v, i) => s + v * i, 0)).toBeCloseTo(expected.weighted, 2);
      expect(Math.max(...values)).toBeCloseTo(expected.max, 8);
      expect(values.indexOf(Math.max(...values))).toBe(expected.argmax);
      expect(filters[(Number(bins) - 1) * 201 + 199]).toBeCloseTo(expected.last, 9);
      // And the independent float64 reference agrees entry by entry.
      const reference = referenceMelFilters(Number(bins));
      reference.forEach((row, m) => row.forEach((v, k) => expect(Math.abs(filters[m * 201 + k] - v)).toBeLessThan(1e-8)));
    }
  });

  it('computes the log-mel spectrogram of speech followed by 30 s of silence as the float64 reference does', async () => {
    const mel = await logMelSpectrogram(short, 80, { padding: 480000 });
    const reference = referenceLogMel(short, 80);
    expect(mel.shape).toEqual([reference.length, 80]);
    expect(reference.length).toBe(Math.floor(short.length / 160) + 3000);
    const engine = mel.tolist() as number[][];
    let worst = 0;
    reference.forEach((row, t) => row.forEach((v, m) => (worst = Math.max(worst, Math.abs(engine[t][m] - v)))));
    expect(worst).toBeLessThan(1e-3);
  });
});

describe('transcription against the float64 reference (fp16 model.safetensors, tokenizer from the cached openai/whisper-large-v2)', () => {
  let whisper: LoadedWhisper;
  let reference: ReferenceWhisper;
  let tokenizerDir: string;

  beforeAll(async () => {
    const dir = dirs.get(FP16)!;
    const options = { companions: await companionFoldersAt(dir, { hubCache: testHubDir() }) };
    whisper = await loadWhisper(dir, options);
    reference = new ReferenceWhisper(dir);
    tokenizerDir = await whisperTokenizerDir(dir, { n_vocab: reference.dims.n_vocab }, options);
  });

  const expectSameTranscript = (engine: Awaited<ReturnType<typeof run>>, expected: ReturnType<typeof referenceTranscribe>) => {
    expect(engine.language).toBe(expected.language);
    expect(engine.segments.map((s) => s.tokens)).toEqual(expected.segments.map((s) => s.tokens));
    expect(engine.segments.map((s) => s.text)).toEqual(expected.segments.map((s) => s.text));
    expect(engine.segments.map((s) => s.seek)).toEqual(expected.segments.map((s) => s.seek));
    engine.segments.forEach((segment, i) => {
      expect(segment.start).toBeCloseTo(expected.segments[i].start, 9);
      expect(segment.end).toBeCloseTo(expected.segments[i].end, 9);
    });
    expect(engine.summary.text).toBe(expected.text);
  };

  it('detects the language and transcribes with timestamps exactly as the reference', async () => {
    const engine = await run(whisper, short, { task: 'transcribe', temperature: 0 });
    const expected = referenceTranscribe(reference, tokenizerDir, short, { task: 'transcribe' });
    expectSameTranscript(engine, expected);
    expect(engine.segments.length).toBeGreaterThan(1);
    expect(engine.summary.duration).toBeCloseTo(Math.floor(short.length / 160) / 100, 9);
  });

  it('seeks through several windows, each prompted with the previous text, and follows an initial prompt', async () => {
    expect(long.length / 16000).toBeGreaterThan(31);
    const options = { task: 'translate' as const, language: 'fr', prompt: 'Foxes and dogs.' };
    const engine = await run(whisper, long, { ...options, temperature: 0 });
    const expected = referenceTranscribe(reference, tokenizerDir, long, options);
    expectSameTranscript(engine, expected);
    expect(new Set(engine.segments.map((s) => s.seek)).size).toBeGreaterThan(1);
  });
});

describe('the 4-bit large-v3 layout in weights.npz', () => {
  it('loads, and transcribes the same whether the weights stay quantized or are dequantized', async () => {
    const dir = dirs.get(V3_4BIT)!;
    const companions = await companionFoldersAt(dir, { hubCache: testHubDir() });
    const quantized = await loadWhisper(dir, { companions, weights: 'quantized' });
    const dequantized = await loadWhisper(dir, { companions, weights: 'dequantized' });
    expect(quantized.model.dims.nMels).toBe(128);
    expect(quantized.tokenizer.special.numLanguages).toBe(100);
    const a = await run(quantized, short, { task: 'transcribe', temperature: 0, language: 'en' });
    const b = await run(dequantized, short, { task: 'transcribe', temperature: 0, language: 'en' });
    expect(a.segments.map((s) => s.tokens)).toEqual(b.segments.map((s) => s.tokens));
    expect(a.segments.length).toBeGreaterThan(0);
    mx.eval();
  });
});
