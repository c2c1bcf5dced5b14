/**
 * Engine benchmark on the ~100M-parameter Llama-shaped fixture (float32):
 *   node dist/scripts/bench-engine.js [--prompt 512] [--decode 128]
 * Prints prefill and decode throughput, peak RSS, and two efficiency ratios measured in the same
 * run: decode time per token against plain matvecs over the same weight bytes, and prefill
 * throughput against float32 matmul GFLOP/s over the model's own matrix shapes.
 */
import { core as mx } from '@frost-beta/mlx';
import { loadLanguageModel, type LanguageModel } from '@mlx-omni/mlx-native';
import { BENCH_FIXTURE_SPEC, ensureFixtures } from '@mlx-omni/model-fixtures';
import { resolve } from 'node:path';
import { modelShapes } from './bench-shapes';

/** Yield to the event loop: finalizers of native arrays run only then. */
const tick = () => new Promise<void>((done) => setImmediate(done));

/**
 * After a prefill, also collect when `node --expose-gc` allows it: a prefill leaves hundreds of MB
 * of intermediates that V8 does not know about (see the README on memory). Not per decode step,
 * where a full collection would cost more than the step's garbage.
 */
const collect = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return tick();
};

function argValue(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

/**
 * Greedy decoding as generation does it: one eval per step, the next step queued (asyncEval)
 * while this one's token is read, a yield to the event loop every step. `step()` returns the
 * wall time of one token.
 */
function greedyDecoder(model: LanguageModel, prompt: number[]): { step(): Promise<number>; drain(): void } {
  const cache = model.createCache();
  const next = (input: mx.array) => mx.argmax(model.forward(input, cache, { lastTokenOnly: true }).index(0, -1), -1);
  let token = next(mx.array([prompt], mx.int32));
  mx.asyncEval(token);
  let last = process.hrtime.bigint();
  return {
    async step() {
      const following = next(token.reshape(1, 1));
      mx.asyncEval(following);
      token.item();
      token = following;
      await tick();
      const now = process.hrtime.bigint();
      const elapsed = Number(now - last) / 1e9;
      last = now;
      return elapsed;
    },
    /** Finishes the step in flight, so that nothing else runs while a baseline is timed. */
    drain() {
      token.item();
      last = process.hrtime.bigint();
    },
  };
}

async function main(): Promise<void> {
  const promptLength = argValue('prompt', 512);
  const decodeSteps = argValue('decode', 128);
  // Where `npm run fixtures -- --bench` writes (see libs/model-fixtures/src/cli.ts).
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  const dir = (await ensureFixtures(hub, [BENCH_FIXTURE_SPEC.id])).get(BENCH_FIXTURE_SPEC.id) as string;

  const loadStart = process.hrtime.bigint();
  const { model, config } = await loadLanguageModel(dir);
  const loadSeconds = seconds(loadStart);
  const shapes = modelShapes(config);
  const params = shapes.matrices.reduce((sum, [o, i]) => sum + o * i, 0);
  const [vocab, hidden] = shapes.matrices[shapes.matrices.length - 1];
  const prompt = Array.from({ length: promptLength }, (_, i) => (i * 7919 + 13) % model.vocabSize);

  // Phase 1, the engine alone: throughput and peak memory.
  const prefill = async () => {
    const start = process.hrtime.bigint();
    mx.eval(model.forward(mx.array([prompt], mx.int32), model.createCache(), { lastTokenOnly: true }));
    const elapsed = seconds(start);
    await collect();
    return elapsed;
  };
  await prefill();
  const prefillTimes = [await prefill(), await prefill(), await prefill()];
  // Only the last position goes through lm_head.
  const linearFlops = 2 * promptLength * (params - vocab * hidden);
  const attentionFlops = 2 * 2 * shapes.layers * shapes.heads * shapes.headDim * ((promptLength * (promptLength + 1)) / 2);
  const prefillFlops = linearFlops + attentionFlops;

  const decoder = greedyDecoder(model, prompt.slice(0, 16));
  const decodeTimes: number[] = [];
  for (let i = 0; i < decodeSteps; i++) {
    decodeTimes.push(await decoder.step());
  }
  decoder.drain();
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  // Phase 2, the ratios: plain matvecs and matmuls over matrices of the model's shapes (so the
  // same bytes), interleaved round by round with decode steps and prefills, so that load from
  // other processes on a shared machine hits both sides of each ratio alike.
  const weights = shapes.matrices.map(([o, i], k) => mx.random.uniform(-0.05, 0.05, [o, i], mx.float32, mx.random.key(k)).T);
  const vectors = shapes.matrices.map(([, i], k) => mx.random.uniform(-1, 1, [1, i], mx.float32, mx.random.key(10_000 + k)));
  const blocks = shapes.matrices.slice(0, -1).map(([, i], k) => mx.random.uniform(-1, 1, [promptLength, i], mx.float32, mx.random.key(20_000 + k)));
  mx.eval(...weights, ...vectors, ...blocks);
  const matvec = async () => {
    const start = process.hrtime.bigint();
    mx.eval(...weights.map((w, k) => mx.matmul(vectors[k], w)));
    const elapsed = seconds(start);
    await tick();
    return elapsed;
  };
  const matmul = async () => {
    const start = process.hrtime.bigint();
    mx.eval(...weights.slice(0, -1).map((w, k) => mx.matmul(blocks[k], w)));
    const elapsed = seconds(start);
    await tick();
    return elapsed;
  };
  await matvec();
  await matmul();
  const decodeRatios: number[] = [];
  const prefillRatios: number[] = [];
  const matvecTimes: number[] = [];
  const matmulGflops: number[] = [];
  for (let round = 0; round < 8; round++) {
    const steps: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < 6; i++) {
      steps.push(await decoder.step());
    }
    decoder.drain();
    for (let i = 0; i < 6; i++) {
      plain.push(await matvec());
    }
    matvecTimes.push(median(plain));
    decodeRatios.push(median(steps) / median(plain));
    const matmulSeconds = await matmul();
    matmulGflops.push(linearFlops / matmulSeconds / 1e9);
    prefillRatios.push(prefillFlops / (await prefill()) / 1e9 / matmulGflops[matmulGflops.length - 1]);
  }

  const prefillSeconds = median(prefillTimes);
  const secondsPerToken = median(decodeTimes);
  const weightBytes = params * 4;
  const rows: Array<[string, string]> = [
    ['device', mx.metal.isAvailable() ? 'gpu (Metal)' : 'cpu'],
    ['model', `${BENCH_FIXTURE_SPEC.id}: ${(params / 1e6).toFixed(1)}M parameters in matmuls, float32, ${(weightBytes / 1e6).toFixed(0)} MB read per token`],
    ['load', `${loadSeconds.toFixed(2)} s`],
    ['prefill', `${promptLength} tokens in ${(prefillSeconds * 1000).toFixed(0)} ms = ${(promptLength / prefillSeconds).toFixed(0)} tokens/s (${(prefillFlops / prefillSeconds / 1e9).toFixed(1)} GFLOP/s)`],
    ['decode', `${(1000 * secondsPerToken).toFixed(2)} ms/token = ${(1 / secondsPerToken).toFixed(1)} tokens/s (median of ${decodeSteps} greedy steps)`],
    ['peak RSS', `${peakRssMb.toFixed(0)} MB after load, ${prefillTimes.length + 1} prefills and decode${'gc' in globalThis ? ' (--expose-gc)' : ' (without --expose-gc)'}`],
    ['fp32 matmul, same shapes', `${median(matmulGflops).toFixed(1)} GFLOP/s → prefill at ${(100 * median(prefillRatios)).toFixed(0)}% of it (median of 8 interleaved rounds)`],
    ['matvecs, same bytes', `${(1000 * median(matvecTimes)).toFixed(2)} ms (${(weightBytes / median(matvecTimes) / 1e9).toFixed(1)} GB/s) → decode/matvec ${median(decodeRatios).toFixed(2)}x (target ≤ 1.25x; median of 8 interleaved rounds)`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [key, value] of rows) {
    console.log(`${key.padEnd(width)}  ${value}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
