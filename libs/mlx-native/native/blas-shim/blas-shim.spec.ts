import { spawnSync } from 'node:child_process';
import { ensureBlasShim, withBlasShimPreloaded } from './blas-shim';

/**
 * Runs in a child node with the shim preloaded: for each case, mx.matmul of seeded random float32
 * operands in the case's layout, against the float64 product computed here in JS. Prints the worst
 * error relative to the largest magnitude of the exact product, per case, as JSON.
 */
const CHILD = `
const { core: mx } = require('@frost-beta/mlx');
const cases = JSON.parse(process.argv[1]);
mx.random.seed(7);
const results = cases.map(({ m, k, n, aTransposed, bTransposed }) => {
  const a = mx.random.normal(aTransposed ? [k, m] : [m, k]);
  const b = mx.random.normal(bTransposed ? [n, k] : [k, n]);
  const product = mx.matmul(aTransposed ? a.T : a, bTransposed ? b.T : b);
  const [A, B, C] = [a, b, product].map((x) => x.astype(mx.float32).tolist().flat());
  const at = (i, p) => (aTransposed ? A[p * m + i] : A[i * k + p]);
  const bt = (p, j) => (bTransposed ? B[j * k + p] : B[p * n + j]);
  let worst = 0, scale = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let exact = 0;
    for (let p = 0; p < k; p++) exact += at(i, p) * bt(p, j);
    scale = Math.max(scale, Math.abs(exact));
    worst = Math.max(worst, Math.abs(C[i * n + j] - exact));
  }
  return worst / scale;
});
console.log(JSON.stringify(results));
`;

interface Case {
  m: number;
  k: number;
  n: number;
  aTransposed: boolean;
  bTransposed: boolean;
}

const layouts = [
  { aTransposed: false, bTransposed: true }, // x · Wᵀ, an nn.Linear
  { aTransposed: false, bTransposed: false },
  { aTransposed: true, bTransposed: true },
  { aTransposed: true, bTransposed: false },
];
// One row (decode), the kernel's row counts on both sides of its 4-row tiles and at and past its
// limit, one column, weights whose row counts and lengths are not multiples of a tile or a vector,
// products large enough to be split over threads, attention's weighted sums of values (a few rows, many
// keys, one head's width, and widths that are not a whole number of the kernel's column tiles), and
// prefill-sized products.
const shapes: Array<[number, number, number]> = [
  [1, 256, 300],
  [4, 1500, 64],
  [3, 2000, 72],
  [7, 100, 40],
  [2, 256, 300],
  [3, 130, 301],
  [5, 300, 700],
  [8, 256, 300],
  [8, 1000, 1001],
  [16, 512, 257],
  [17, 256, 300],
  [40, 8, 1],
  [1, 64, 1],
  [128, 256, 384],
];
const cases: Case[] = shapes.flatMap(([m, k, n]) => layouts.map((layout) => ({ m, k, n, ...layout })));

const shim = ensureBlasShim();
const withShim = shim === undefined ? (name: string, test: () => void) => it.skip(`${name} [skipped: no BLAS shim, not Linux or no C compiler]`, test) : it;

describe('BLAS shim', () => {
  // The kernel splits a product over as many threads as the BLAS has: one, and two.
  for (const threads of ['1', '2']) {
    withShim(`keeps mx.matmul float32-accurate for one row, small row counts, one column and prefill-sized products, in every layout (${threads} BLAS threads)`, () => {
      const child = spawnSync(process.execPath, ['-e', CHILD, JSON.stringify(cases)], {
        env: { ...process.env, LD_PRELOAD: shim, OPENBLAS_NUM_THREADS: threads },
        encoding: 'utf8',
      });
      expect(child.stderr).toBe('');
      const errors = JSON.parse(child.stdout) as number[];
      const failures = cases.map((c, i) => ({ ...c, error: errors[i] })).filter(({ error }) => !(error < 1e-5));
      expect(failures).toEqual([]);
    });
  }

  it('appends itself to what LD_PRELOAD already names', () => {
    expect(withBlasShimPreloaded(undefined, '/x/shim.so')).toBe('/x/shim.so');
    expect(withBlasShimPreloaded('', '/x/shim.so')).toBe('/x/shim.so');
    expect(withBlasShimPreloaded('/a.so', '/x/shim.so')).toBe('/a.so:/x/shim.so');
  });
});
