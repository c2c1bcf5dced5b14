/**
 * Speech benchmark: Kokoro-82M at full size (random weights in the bf16 repo's layout), through the
 * synthesizer the worker runs (G2P, chunking, the forward, samples out):
 *   node --expose-gc dist/scripts/bench-speech.js [--runs 1]
 * Prints load time, then per input the real-time factor (seconds of audio per second of compute), the
 * time to the first chunk, frames per phoneme (random weights pace speech differently from trained
 * ones; the decoder's cost follows the frames), and the peak RSS of the process.
 */
import { familyLoader, type LoadedSpeechModel } from '@mlx-omni/mlx-native';
import { ensureKokoroFixtures, KOKORO_BENCH_SPEC } from '@mlx-omni/model-fixtures';
import { resolve } from 'node:path';

const INPUTS: Array<[string, string]> = [
  ['one sentence', 'The quick brown fox jumps over the lazy dog.'],
  [
    'a paragraph (2 chunks)',
    'It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith, his chin nuzzled into his breast in an effort to escape the vile wind, slipped quickly through the glass doors of Victory Mansions, though not quickly enough to prevent a swirl of gritty dust from entering along with him. The hallway smelt of boiled cabbage and old rag mats. At one end of it a coloured poster, too large for indoor display, had been tacked to the wall. It depicted simply an enormous face, more than a metre wide: the face of a man of about forty-five, with a heavy black moustache and ruggedly handsome features.',
  ],
];

function argValue(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

let peakRss = 0;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

async function main(): Promise<void> {
  const runs = argValue('runs', 1);
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  const dir = (await ensureKokoroFixtures(hub, [KOKORO_BENCH_SPEC.id])).get(KOKORO_BENCH_SPEC.id)!;
  const sampler = setInterval(sampleRss, 20);
  const loadStart = performance.now();
  const loader = familyLoader('kokoro');
  const model = (await loader.load(dir, {})) as LoadedSpeechModel;
  const loadSeconds = (performance.now() - loadStart) / 1000;
  sampleRss();
  console.log(`Kokoro-82M (random weights, ${KOKORO_BENCH_SPEC.dtype} on disk): loaded in ${loadSeconds.toFixed(1)} s, weights ${(model.weightBytes / 2 ** 20).toFixed(0)} MiB`);
  console.log(`peak RSS after load: ${(peakRss / 2 ** 20).toFixed(0)} MiB`);

  // First-use costs (the binding's kernels, espeak-ng's data) are paid on a short input, not reported.
  for await (const chunk of model.synthesizer.synthesize({ input: 'Hello.', voice: 'af_heart', speed: 1, seed: 0 })) {
    void chunk;
  }
  for (const [label, input] of INPUTS) {
    for (let run = 1; run <= runs; run++) {
      const started = performance.now();
      let firstChunk = 0;
      let samples = 0;
      let frames = 0;
      let phonemes = 0;
      let chunks = 0;
      for await (const chunk of model.synthesizer.synthesize({ input, voice: 'af_heart', speed: 1, seed: 0 })) {
        firstChunk ||= (performance.now() - started) / 1000;
        samples += chunk.samples.length;
        frames += chunk.frames;
        phonemes += [...chunk.phonemes].length;
        chunks += 1;
      }
      const seconds = (performance.now() - started) / 1000;
      const audio = samples / model.synthesizer.sampleRate;
      console.log(
        `${label}, run ${run}: ${audio.toFixed(2)} s of audio in ${seconds.toFixed(2)} s → real-time factor ${(audio / seconds).toFixed(3)}× ` +
          `(first chunk after ${firstChunk.toFixed(2)} s; ${chunks} chunk(s), ${phonemes} phonemes, ${(frames / phonemes).toFixed(1)} frames per phoneme)`,
      );
    }
  }
  clearInterval(sampler);
  console.log(`peak RSS: ${(Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 2 ** 20).toFixed(0)} MiB${'gc' in globalThis ? ' (--expose-gc)' : ''}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
