/**
 * The decode products on the CPU backend, with and without the BLAS shim (libs/mlx-native/native/blas-shim):
 *   node dist/scripts/bench-matvec.js [--size 256m|100m] [--rounds 5] [--passes 3]
 * Times [B,K]·Wᵀ over every matrix of the bench fixture's shapes (so the bytes one decode step
 * reads), for B = 1, 2, 4, 8, 16 rows (concurrent streams), and prints ms per GB of weights.
 * Single-threaded BLAS (OPENBLAS_NUM_THREADS=1) unless the environment sets it. The script
 * re-runs itself as children, with the shim preloaded and without, taking turns for a few passes
 * so that load from other processes hits both alike; each figure is a median.
 */
import { spawnSync } from 'node:child_process';
import { BLAS_SHIM_LIBRARY, ensureBlasShim } from '@mlx-omni/mlx-native/blas-shim';
import { BENCH_256M_FIXTURE_SPEC, BENCH_FIXTURE_SPEC } from '@mlx-omni/model-fixtures';
import { modelShapes } from './bench-shapes';

const ROWS = [1, 2, 4, 8, 16];
const CHILD_FLAG = '--child';

function argValue(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** In the child: ms per GB of weights for each row count, as one JSON line. */
async function measure(): Promise<void> {
  const { core: mx } = await import('@frost-beta/mlx');
  const spec = argValue('size', '256m') === '100m' ? BENCH_FIXTURE_SPEC : BENCH_256M_FIXTURE_SPEC;
  const { matrices } = modelShapes(spec.config);
  const rounds = Number(argValue('rounds', '5'));
  // Transposed views of [out, in] weights: the layout nn.Linear multiplies by.
  const weights = matrices.map(([o, i], k) => mx.random.uniform(-0.05, 0.05, [o, i], mx.float32, mx.random.key(k)).T);
  mx.eval(...weights);
  const gigabytes = matrices.reduce((sum, [o, i]) => sum + o * i * 4, 0) / 1e9;
  const result: Record<number, number> = {};
  for (const rows of ROWS) {
    const inputs = matrices.map(([, i], k) => mx.random.uniform(-1, 1, [rows, i], mx.float32, mx.random.key(10_000 + k)));
    mx.eval(...inputs);
    const times: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      const start = process.hrtime.bigint();
      // One eval per product, as a decode step runs them: one after another.
      for (let k = 0; k < weights.length; k++) {
        mx.eval(mx.matmul(inputs[k], weights[k]));
      }
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      // Finalizers of the products' arrays run only when the event loop turns.
      await new Promise<void>((done) => setImmediate(done));
    }
    result[rows] = median(times.slice(1)) / gigabytes;
  }
  console.log(JSON.stringify({ gigabytes, msPerGb: result }));
}

interface Measured {
  gigabytes: number;
  msPerGb: Record<number, number>;
}

function runChild(preload: string | undefined): Measured {
  const env = { OPENBLAS_NUM_THREADS: '1', ...process.env, LD_PRELOAD: preload };
  const child = spawnSync(process.execPath, [__filename, CHILD_FLAG, ...process.argv.slice(2)], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) {
    throw new Error(`the ${preload === undefined ? 'plain' : 'shim'} run failed (exit ${child.status})`);
  }
  return JSON.parse(child.stdout.trim().split('\n').slice(-1)[0]) as Measured;
}

/** The median of each row count's figure over the passes. */
function medianOf(passes: Measured[]): Measured {
  return { gigabytes: passes[0].gigabytes, msPerGb: Object.fromEntries(ROWS.map((rows) => [rows, median(passes.map((pass) => pass.msPerGb[rows]))])) };
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
}

if (process.argv.includes(CHILD_FLAG)) {
  measure().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  compare();
}
