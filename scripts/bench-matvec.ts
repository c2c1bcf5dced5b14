/**
 * The decode products on the CPU backend, with and without the BLAS shim (libs/mlx-native/native/blas-shim):
 *   node dist/scripts/bench-matvec.js [--size 256m|100m] [--rounds 5] [--passes 3]
 * Times [B,K]·Wᵀ over every matrix of the bench fixture's shapes (so the bytes one decode step
 * reads), for B = 1, 2, 4, 8, 16 rows (concurrent streams), and prints ms per GB of weights. Then
 * attention's weighted sums of one decode step of 8 rows (per layer, probabilities [8, kvHeads,
 * group, keys] · values [8, kvHeads, keys, headDim]) over 100 to 1,500 keys, in ms per step.
 * Single-threaded BLAS (OPENBLAS_NUM_THREADS=1) unless the environment sets it. The script
 * re-runs itself as children, with the shim preloaded and without, taking turns for a few passes
 * so that load from other processes hits both alike; each figure is a median.
 */
import { spawnSync } from 'node:child_process';
import { BLAS_SHIM_LIBRARY, ensureBlasShim } from '@mlx-omni/mlx-native/blas-shim';
import { BENCH_256M_FIXTURE_SPEC, BENCH_FIXTURE_SPEC } from '@mlx-omni/model-fixtures';
import { modelShapes } from './bench-shapes';

const ROWS = [1, 2, 4, 8, 16];
const KEY_COUNTS = [100, 300, 1000, 1500];
const ATTENTION_ROWS = 8;
const CHILD_FLAG = '--child';

function argValue(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Median ms of `rounds` runs of `step` (after one unmeasured run). Each run's products are evaluated one
 * after another, as a decode step runs them.
 */
async function medianStepMs(rounds: number, step: () => void): Promise<number> {
  const times: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const start = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    // Finalizers of the products' arrays run only when the event loop turns.
    await new Promise<void>((done) => setImmediate(done));
  }
  return median(times.slice(1));
}

/** In the child: ms per GB of weights for each row count, and ms of the weighted sums for each key count, as one JSON line. */
async function measure(): Promise<void> {
  const { core: mx } = await import('@frost-beta/mlx');
  const spec = argValue('size', '256m') === '100m' ? BENCH_FIXTURE_SPEC : BENCH_256M_FIXTURE_SPEC;
  const { matrices, layers, heads, kvHeads, headDim } = modelShapes(spec.config);
  const rounds = Number(argValue('rounds', '5'));
  // Transposed views of [out, in] weights: the layout nn.Linear multiplies by.
  const weights = matrices.map(([o, i], k) => mx.random.uniform(-0.05, 0.05, [o, i], mx.float32, mx.random.key(k)).T);
  mx.eval(...weights);
  const gigabytes = matrices.reduce((sum, [o, i]) => sum + o * i * 4, 0) / 1e9;
  const result: Record<number, number> = {};
  for (const rows of ROWS) {
    const inputs = matrices.map(([, i], k) => mx.random.uniform(-1, 1, [rows, i], mx.float32, mx.random.key(10_000 + k)));
    mx.eval(...inputs);
    const stepMs = await medianStepMs(rounds, () => weights.forEach((weight, k) => mx.eval(mx.matmul(inputs[k], weight))));
    result[rows] = stepMs / gigabytes;
  }
  const weightedSumsMs: Record<number, number> = {};
  for (const keys of KEY_COUNTS) {
    const probabilities = mx.softmax(mx.random.uniform(-1, 1, [ATTENTION_ROWS, kvHeads, heads / kvHeads, keys], mx.float32, mx.random.key(20_000)), -1);
    const values = Array.from({ length: layers }, (_, layer) =>
      mx.random.uniform(-1, 1, [ATTENTION_ROWS, kvHeads, keys, headDim], mx.float32, mx.random.key(30_000 + layer)),
    );
    mx.eval(probabilities, ...values);
    weightedSumsMs[keys] = await medianStepMs(rounds, () => values.forEach((layerValues) => mx.eval(mx.matmul(probabilities, layerValues))));
  }
  console.log(JSON.stringify({ gigabytes, msPerGb: result, weightedSumsMs }));
}

interface Measured {
  gigabytes: number;
  msPerGb: Record<number, number>;
  /** Attention's weighted sums of one decode step of 8 rows, ms, by key count. */
  weightedSumsMs: Record<number, number>;
}

function runChild(preload: string | undefined): Measured {
  const env = { OPENBLAS_NUM_THREADS: '1', ...process.env, LD_PRELOAD: preload };
  const child = spawnSync(process.execPath, [__filename, CHILD_FLAG, ...process.argv.slice(2)], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) {
    throw new Error(`the ${preload === undefined ? 'plain' : 'shim'} run failed (exit ${child.status})`);
  }
  return JSON.parse(child.stdout.trim().split('\n').slice(-1)[0]) as Measured;
}

/** The median of each figure over the passes. */
function medianOf(passes: Measured[]): Measured {
  const medians = (counts: number[], figure: (pass: Measured) => Record<number, number>) =>
    Object.fromEntries(counts.map((count) => [count, median(passes.map((pass) => figure(pass)[count]))]));
  return {
    gigabytes: passes[0].gigabytes,
    msPerGb: medians(ROWS, (pass) => pass.msPerGb),
    weightedSumsMs: medians(KEY_COUNTS, (pass) => pass.weightedSumsMs),
  };
}

function compare(): void {
  const shim = ensureBlasShim();
  const others = (process.env['LD_PRELOAD'] ?? '').split(':').filter((path) => path !== '' && path !== BLAS_SHIM_LIBRARY);
  const plainPasses: Measured[] = [];
  const shimPasses: Measured[] = [];
  for (let pass = 0; pass < Number(argValue('passes', '3')); pass++) {
    plainPasses.push(runChild(others.length > 0 ? others.join(':') : undefined));
    if (shim !== undefined) {
      shimPasses.push(runChild([...others, shim].join(':')));
    }
  }
  const plain = medianOf(plainPasses);
  const shimmed = shim === undefined ? undefined : medianOf(shimPasses);
  console.log(`products over ${plain.gigabytes.toFixed(2)} GB of float32 weights (${argValue('size', '256m')} bench fixture shapes), OPENBLAS_NUM_THREADS=${process.env['OPENBLAS_NUM_THREADS'] ?? '1'}`);
  console.log('rows B   plain sgemm ms/GB   with shim ms/GB   speed-up   with shim: rows (streams\' tokens) per s per GB');
  for (const rows of ROWS) {
    const before = plain.msPerGb[rows];
    const after = shimmed?.msPerGb[rows];
    const cells = after === undefined ? ['(no shim: not Linux or no C compiler)'] : [after.toFixed(1).padStart(15), `${(before / after).toFixed(2)}x`.padStart(10), (rows / (after / 1000)).toFixed(1).padStart(12)];
    console.log(`${String(rows).padStart(6)}   ${before.toFixed(1).padStart(17)}   ${cells.join('   ')}`);
  }
  console.log(`attention's weighted sums of one decode step of ${ATTENTION_ROWS} rows (every layer's probabilities · values), ms`);
  console.log('  keys   plain sgemm ms   with shim ms   speed-up');
  for (const keys of KEY_COUNTS) {
    const before = plain.weightedSumsMs[keys];
    const after = shimmed?.weightedSumsMs[keys];
    const cells = after === undefined ? ['(no shim)'] : [after.toFixed(2).padStart(12), `${(before / after).toFixed(2)}x`.padStart(10)];
    console.log(`${String(keys).padStart(6)}   ${before.toFixed(2).padStart(14)}   ${cells.join('   ')}`);
  }
}

if (process.argv.includes(CHILD_FLAG)) {
  measure().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  compare();
}
