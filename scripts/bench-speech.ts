/**
 * Speech benchmark, through the synthesizer the worker runs (text processing, chunking, the forward,
 * samples out), one process per family so each peak RSS is its own:
 *   node --expose-gc dist/scripts/bench-speech.js [--family kokoro|f5] [--runs 1]
 * - Kokoro-82M at full size (random weights in the bf16 repo's layout).
 * - F5-TTS at a small size (model-fixtures' F5_BENCH_SPEC: 256 wide, 8 DiT blocks; durations from the reference's rate) with
 *   the real-size Vocos, cloning an espeak-ng reference clip; 8-point RK4 with guidance, as served.
 * Prints load time, then per input the real-time factor (seconds of audio per second of compute), the
 * time to the first chunk, the acoustic frames per input unit (random weights pace speech differently from
 * trained ones; the cost follows the frames), and the peak RSS of the process.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeAudioFile, familyLoader, type LoadedSpeechModel, type SpeechRequest } from '@mlx-omni/mlx-native';
import { ensureF5Fixtures, ensureKokoroFixtures, F5_BENCH_SPEC, KOKORO_BENCH_SPEC, speak } from '@mlx-omni/model-fixtures';
import { companionFoldersAt } from '@mlx-omni/model-hub';

const SENTENCE: [string, string] = ['one sentence', 'The quick brown fox jumps over the lazy dog.'];
const PARAGRAPH: [string, string] = [
  'a paragraph',
  'It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith, his chin nuzzled into his breast in an effort to escape the vile wind, slipped quickly through the glass doors of Victory Mansions, though not quickly enough to prevent a swirl of gritty dust from entering along with him. The hallway smelt of boiled cabbage and old rag mats. At one end of it a coloured poster, too large for indoor display, had been tacked to the wall. It depicted simply an enormous face, more than a metre wide: the face of a man of about forty-five, with a heavy black moustache and ruggedly handsome features.',
];
/**
 * F5 samples reference and new speech together, 28 DiT evaluations with attention over every frame, so on
 * the CPU a paragraph takes minutes: its first three sentences (two chunks after a 6 s reference) stand in.
 */
const F5_PARAGRAPH: [string, string] = ['three sentences', PARAGRAPH[1].split(/(?<=\.) /).slice(0, 3).join(' ')];

const REFERENCE_TRANSCRIPT = 'Some call me nature, others call me mother nature. I have been here for over four and a half billion years.';

type Family = 'kokoro' | 'f5';

function argValue(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

let peakRss = 0;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

interface Bench {
  title: string;
  model: LoadedSpeechModel;
  /** The request for an input, the voice included. */
  request: (input: string) => SpeechRequest;
  /** What a chunk's `phonemes` count: phonemes for Kokoro, characters for F5. */
  unit: string;
  inputs: Array<[string, string]>;
  cleanup: () => Promise<void>;
}

async function load(family: Family, hub: string): Promise<Bench> {
  if (family === 'kokoro') {
    const dir = (await ensureKokoroFixtures(hub, [KOKORO_BENCH_SPEC.id])).get(KOKORO_BENCH_SPEC.id)!;
    const model = (await familyLoader('kokoro').load(dir, {})) as LoadedSpeechModel;
    return {
      title: `Kokoro-82M (random weights, ${KOKORO_BENCH_SPEC.dtype} on disk)`,
      model,
      request: (input) => ({ input, voice: 'af_heart', speed: 1, seed: 0 }),
      unit: 'phoneme',
      inputs: [SENTENCE, PARAGRAPH],
      cleanup: async () => undefined,
    };
  }
  const dir = (await ensureF5Fixtures(hub, [F5_BENCH_SPEC.id])).get(F5_BENCH_SPEC.id)!;
  const model = (await familyLoader('f5-tts').load(dir, { companions: await companionFoldersAt(dir, { hubCache: hub }) })) as LoadedSpeechModel;
  const scratch = await mkdtemp(join(tmpdir(), 'bench-speech-'));
  const clip = await speak(REFERENCE_TRANSCRIPT, join(scratch, 'reference.wav'), { wordsPerMinute: 175 });
  const samples = await decodeAudioFile(clip, { sampleRate: model.synthesizer.sampleRate });
  const { dim, depth } = F5_BENCH_SPEC.dit;
  return {
    title: `F5-TTS small (random weights: ${dim} wide, ${depth} DiT blocks, durations from the reference's rate; real-size Vocos), cloning a ${(samples.length / model.synthesizer.sampleRate).toFixed(1)} s espeak-ng clip`,
    model,
    request: (input) => ({ input, voice: 'espeak', speed: 1, seed: 0, reference: { samples, transcript: REFERENCE_TRANSCRIPT } }),
    unit: 'character',
    inputs: [SENTENCE, F5_PARAGRAPH],
    cleanup: () => rm(scratch, { recursive: true, force: true }),
  };
}

async function bench(family: Family, runs: number): Promise<void> {
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  const sampler = setInterval(sampleRss, 20);
  const loadStart = performance.now();
  const { title, model, request, unit, inputs, cleanup } = await load(family, hub);
  const loadSeconds = (performance.now() - loadStart) / 1000;
  sampleRss();
  console.log(`${title}: loaded in ${loadSeconds.toFixed(1)} s, weights ${(model.weightBytes / 2 ** 20).toFixed(0)} MiB`);
  console.log(`peak RSS after load: ${(peakRss / 2 ** 20).toFixed(0)} MiB`);

  // First-use costs (the binding's kernels, espeak-ng's data) are paid on a short input, not reported.
  for await (const chunk of model.synthesizer.synthesize(request('Hello.'))) {
    void chunk;
  }
  for (const [label, input] of inputs) {
    for (let run = 1; run <= runs; run++) {
      const started = performance.now();
      let firstChunk = 0;
      let samples = 0;
      let frames = 0;
      let units = 0;
      let chunks = 0;
      for await (const chunk of model.synthesizer.synthesize(request(input))) {
        firstChunk ||= (performance.now() - started) / 1000;
        samples += chunk.samples.length;
        frames += chunk.frames;
        units += [...chunk.phonemes].length;
        chunks += 1;
      }
      const seconds = (performance.now() - started) / 1000;
      const audio = samples / model.synthesizer.sampleRate;
      console.log(
        `${label}, run ${run}: ${audio.toFixed(2)} s of audio in ${seconds.toFixed(2)} s → real-time factor ${(audio / seconds).toFixed(3)}× ` +
          `(first chunk after ${firstChunk.toFixed(2)} s; ${chunks} chunk(s), ${units} ${unit}s, ${(frames / units).toFixed(1)} frames per ${unit})`,
      );
    }
  }
  clearInterval(sampler);
  await cleanup();
  console.log(`peak RSS: ${(Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 2 ** 20).toFixed(0)} MiB${'gc' in globalThis ? ' (--expose-gc)' : ''}`);
}

/** Each family in a process of its own, so that one's peak RSS is not the other's. */
async function benchEach(runs: number): Promise<void> {
  for (const family of ['kokoro', 'f5'] satisfies Family[]) {
    const child = fork(__filename, ['--family', family, '--runs', String(runs)], { execArgv: process.execArgv, stdio: 'inherit' });
    const code = await new Promise<number | null>((done) => child.on('exit', done));
    if (code !== 0) {
      throw new Error(`the ${family} benchmark exited with ${code}`);
    }
  }
}

async function main(): Promise<void> {
  const runs = Number(argValue('runs') ?? 1);
  const family = argValue('family');
  if (family === undefined) {
    await benchEach(runs);
  } else if (family === 'kokoro' || family === 'f5') {
    await bench(family, runs);
  } else {
    throw new Error(`--family must be kokoro or f5, not "${family}"`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
