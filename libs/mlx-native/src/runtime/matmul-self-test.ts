import { core as mx } from '@frost-beta/mlx';

export interface MatmulSelfTestFigures {
  size: number;
  maxAbsError: number;
  gflops: number;
  seconds: number;
}

/** Entries compared against the float64 reference; a full check would cost O(n³) in JavaScript. */
const SAMPLED_ENTRIES = 64;

/**
 * Multiplies two random float32 matrices with MLX, checks sampled entries against a float64
 * product computed here, and times the multiply. A wrong BLAS or a 25x-slow reference BLAS
 * (PLATFORM.md) shows up in these two figures.
 */
export async function runMatmulSelfTest(size: number, seed = 0): Promise<MatmulSelfTestFigures> {
  const keys = mx.random.split(mx.random.key(seed), 2);
  const a = mx.random.normal([size, size], mx.float32, 0, 1, keys.index(0));
  const b = mx.random.normal([size, size], mx.float32, 0, 1, keys.index(1));
  mx.eval(a, b);

  // One warm-up multiply so the timing excludes BLAS thread start-up.
  mx.eval(mx.matmul(a, b));
  const repetitions = 3;
  const started = process.hrtime.bigint();
  let product = mx.matmul(a, b);
  for (let i = 1; i < repetitions; i++) {
    mx.eval(product);
    product = mx.matmul(a, b);
  }
  mx.eval(product);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9 / repetitions;

  const left = a.tolist() as number[][];
  const right = b.tolist() as number[][];
  const result = product.tolist() as number[][];
  let maxAbsError = 0;
  for (let sample = 0; sample < SAMPLED_ENTRIES; sample++) {
    // A fixed stride walks entries spread over the whole matrix, deterministically.
    const row = (sample * 7919) % size;
    const column = (sample * 104729) % size;
    let expected = 0;
    for (let k = 0; k < size; k++) {
      expected += left[row][k] * right[k][column];
    }
    maxAbsError = Math.max(maxAbsError, Math.abs(expected - result[row][column]));
  }
  // Yield so the finalizers of the arrays above run (PLATFORM.md: memory is reclaimed only then).
  await new Promise((resolve) => setImmediate(resolve));
  return { size, maxAbsError, gflops: (2 * size ** 3) / seconds / 1e9, seconds };
}
