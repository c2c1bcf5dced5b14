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

/**
 * Yield to the event loop so finalizers free native arrays; with `node --expose-gc` also collect
 * first, which keeps the peak at one forward's intermediates (see the README on memory).
 */
const tick = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return new Promise<void>((done) => setImmediate(done));
};

function argValue(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

interface Shapes {
  /** [out, in] of every matrix one token multiplies by, lm_head included. */
  matrices: Array<[number, number]>;
  layers: number;
  heads: number;
  headDim: number;
}

function modelShapes(config: Record<string, unknown>): Shapes {
  const n = (key: string) => config[key] as number;
  const hidden = n('hidden_size');
  const heads = n('num_attention_heads');
  const headDim = (config['head_dim'] as number | undefined) ?? hidden / heads;
  const kv = n('num_key_value_heads') * headDim;
  const inter = n('intermediate_size');
  const layer: Array<[number, number]> = [
    [heads * headDim, hidden], [kv, hidden], [kv, hidden], [hidden, heads * headDim],
    [inter, hidden], [inter, hidden], [hidden, inter],
  ];
  return {
    matrices: [...Array.from({ length: n('num_hidden_layers') }, () => layer).flat(), [n('vocab_size'), hidden]],
    layers: n('num_hidden_layers'),
    heads,
    headDim,
  };
}

async function timeIt(runs: number, body: () => void | Promise<void>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await body();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
    await tick();
  }
  return best;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Greedy decoding as generation does it: one eval per step, the next step queued while this
 * one's token is read, a yield to the event loop every step. Returns seconds per token (median,
 * since the development machines are shared and a mean absorbs other processes' bursts; and mean).
 */
async function decode(model: LanguageModel, prompt: number[], steps: number): Promise<{ median: number; mean: number }> {
  const cache = model.createCache();
  const step = (input: mx.array) => mx.argmax(model.forward(input, cache, { lastTokenOnly: true }).index(0, -1), -1);
  let token = step(mx.array([prompt], mx.int32));
  mx.eval(token);
  const times: number[] = [];
  let last = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) {
    const next = step(token.reshape(1, 1));
    mx.asyncEval(next);
    token.item();
    token = next;
    await tick();
    const now = process.hrtime.bigint();
    times.push(Number(now - last) / 1e9);
    last = now;
  }
  token.item();
  return { median: median(times), mean: times.reduce((a, b) => a + b, 0) / times.length };
}

/** Median wall time of `runs` calls. */
async function medianTime(runs: number, body: () => void): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    body();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
    await tick();
  }
  return median(times);
}

async function main(): Promise<void> {
  const promptLength = argValue('prompt', 512);
  const decodeSteps = argValue('decode', 128);
  // Where `npm run fixtures -- --bench` writes (see libs/model-fixtures/src/cli.ts).
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  const dir = (await ensureFixtures(hub, [BENCH_FIXTURE_SPEC.id])).get(BENCH_FIXTURE_SPEC.id) as string;

  const loadStart = Date.now();
  const { model, config } = await loadLanguageModel(dir);
  const loadSeconds = (Date.now() - loadStart) / 1000;
  const shapes = modelShapes(config);
  const params = shapes.matrices.reduce((sum, [o, i]) => sum + o * i, 0);
  const prompt = Array.from({ length: promptLength }, (_, i) => (i * 7919 + 13) % model.vocabSize);

  // Prefill: the whole prompt in one forward, logits of the last position only.
  const prefill = () => {
    mx.eval(model.forward(mx.array([prompt], mx.int32), model.createCache(), { lastTokenOnly: true }));
  };
  prefill();
  const prefillSeconds = await timeIt(3, prefill);
  const linearFlops = 2 * promptLength * (params - shapes.matrices[shapes.matrices.length - 1][0] * shapes.matrices[0][1]);
  const attentionFlops = 2 * 2 * shapes.layers * shapes.heads * shapes.headDim * ((promptLength * (promptLength + 1)) / 2);
  const prefillGflops = (linearFlops + attentionFlops) / prefillSeconds / 1e9;

  await decode(model, prompt.slice(0, 16), 8);
  const decodeTime = await decode(model, prompt.slice(0, 16), decodeSteps);
  const secondsPerToken = decodeTime.median;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  // Baselines over matrices of the same shapes (hence the same bytes).
  const weights = shapes.matrices.map(([o, i], k) => mx.random.uniform(-0.05, 0.05, [o, i], mx.float32, mx.random.key(k)).T);
  mx.eval(...weights);
  const vectors = shapes.matrices.map(([, i], k) => mx.random.uniform(-1, 1, [1, i], mx.float32, mx.random.key(10_000 + k)));
  mx.eval(...vectors);
  const matvec = () => mx.eval(...weights.map((w, k) => mx.matmul(vectors[k], w)));
  matvec();
  const matvecSeconds = await medianTime(31, matvec);
  const weightBytes = params * 4;

  const blocks = shapes.matrices.slice(0, -1).map(([, i], k) => mx.random.uniform(-1, 1, [promptLength, i], mx.float32, mx.random.key(20_000 + k)));
  mx.eval(...blocks);
  const matmul = () => mx.eval(...weights.slice(0, -1).map((w, k) => mx.matmul(blocks[k], w)));
  matmul();
  const matmulSeconds = await timeIt(3, matmul);
  const matmulGflops = linearFlops / matmulSeconds / 1e9;

  const rows: Array<[string, string]> = [
    ['device', mx.metal.isAvailable() ? 'gpu (Metal)' : 'cpu'],
    ['model', `${BENCH_FIXTURE_SPEC.id} (${(params / 1e6).toFixed(1)}M params in matmuls, float32, ${(weightBytes / 1e6).toFixed(0)} MB read per token)`],
    ['load', `${loadSeconds.toFixed(2)} s`],
    ['prefill', `${promptLength} tokens in ${(prefillSeconds * 1000).toFixed(0)} ms = ${(promptLength / prefillSeconds).toFixed(0)} tokens/s (${prefillGflops.toFixed(1)} GFLOP/s)`],
    ['fp32 matmul, same shapes', `${matmulGflops.toFixed(1)} GFLOP/s  → prefill at ${((100 * prefillGflops) / matmulGflops).toFixed(0)}% of it`],
    ['decode', `${(1000 * secondsPerToken).toFixed(2)} ms/token = ${(1 / secondsPerToken).toFixed(1)} tokens/s (median of ${decodeSteps} greedy steps; mean ${(1000 * decodeTime.mean).toFixed(2)} ms)`],
    ['matvecs over the same bytes', `${(1000 * matvecSeconds).toFixed(2)} ms median (${(weightBytes / matvecSeconds / 1e9).toFixed(1)} GB/s)  → decode/matvec ratio ${(secondsPerToken / matvecSeconds).toFixed(2)}x (target ≤ 1.25x)`],
    ['peak RSS (load, prefill, decode)', `${peakRssMb.toFixed(0)} MB${'gc' in globalThis ? ' (with --expose-gc)' : ' (run with node --expose-gc to collect between steps)'}`],
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
