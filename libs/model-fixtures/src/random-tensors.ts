import { core as mx } from '@frost-beta/mlx';
import { createHash } from 'node:crypto';

/** A stable 31-bit seed per (fixture seed, tensor name), so every tensor is reproducible on its own. */
export function tensorSeed(seed: number, name: string): number {
  return createHash('sha1').update(`${seed}:${name}`).digest().readUInt32LE(0) >>> 1;
}

/** Uniform on [-a, a] with standard deviation `std`. */
export function uniform(shape: number[], std: number, key: mx.array): mx.array {
  const a = std * Math.sqrt(3);
  return mx.random.uniform(-a, a, shape, mx.float32, key);
}

/**
 * A random matrix drawn directly in MLX's packed form: every uint32 word is a valid packing of
 * 32/bits codes, and per-group scales and biases centre the codes so the dequantized values have
 * standard deviation about `std`. Drawing floats and quantizing them took seconds per vocabulary-sized table.
 */
export function packedQuantizedTensor(
  seed: number,
  name: string,
  shape: number[],
  std: number,
  q: { groupSize: number; bits: number },
): [mx.array, mx.array, mx.array] {
  const [highKey, lowKey, scalesKey, biasesKey] = [0, 1, 2, 3].map((i) => mx.random.key(tensorSeed(seed, `${name}#${i}`)));
  const lead = shape.slice(0, -1);
  const width = shape[shape.length - 1];
  const words = randomWords([...lead, (width * q.bits) / 32], highKey, lowKey);
  const groups = [...lead, width / q.groupSize];
  const levels = 2 ** q.bits;
  // Codes are uniform on [0, levels): standard deviation ≈ levels / √12.
  const baseScale = (std * Math.sqrt(12)) / levels;
  const scales = mx.multiply(mx.random.uniform(0.75, 1.25, groups, mx.float32, scalesKey), baseScale);
  const biases = mx.add(mx.multiply(scales, -(levels - 1) / 2), uniform(groups, 0.1 * std, biasesKey));
  return [words, scales, biases];
}

/** Random uint32 words: two 16-bit halves, as a full-range randint comes from a float32 draw and leaves the low bits zero. */
export function randomWords(shape: number[], highKey: mx.array, lowKey: mx.array): mx.array {
  const half = (key: mx.array) => mx.random.randint(0, 65536, shape, mx.int32, key).astype(mx.uint32);
  return mx.bitwiseOr(mx.leftShift(half(highKey), mx.array(16, mx.uint32)), half(lowKey));
}
