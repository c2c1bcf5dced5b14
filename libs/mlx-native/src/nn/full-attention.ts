import { core as mx } from '@frost-beta/mlx';

/** [batch, length, heads·headDim] → [batch, heads, length, headDim]. */
export function splitHeads(x: mx.array, heads: number): mx.array {
  const [batch, length, width] = x.shape;
  return x.reshape(batch, length, heads, width / heads).transpose(0, 2, 1, 3);
}

/** [batch, heads, length, headDim] → [batch, length, heads·headDim]. */
export function mergeHeads(x: mx.array): mx.array {
  const [batch, heads, length, headDim] = x.shape;
  return x.transpose(0, 2, 1, 3).reshape(batch, length, heads * headDim);
}

/**
 * Attention over a whole sequence at once, with no cache: every query sees every key unless an additive
 * `mask` ([queries, keys] of 0 and −∞, or a bias such as T5's relative positions) says otherwise.
 * q, k, v are [batch, heads, length, headDim]; the result is [batch, length, heads·headDim].
 */
export function fullAttention(q: mx.array, k: mx.array, v: mx.array, scale: number, mask?: mx.array): mx.array {
  const attended = mask ? mx.fast.scaledDotProductAttention(q, k, v, scale, mask) : mx.fast.scaledDotProductAttention(q, k, v, scale);
  return mergeHeads(attended);
}

/** Additive causal mask [length, length]: position i sees positions ≤ i (CLIP's text encoder, decoders without a cache). */
export function causalMask(length: number, dtype: mx.Dtype = mx.float32): mx.array {
  const positions = mx.arange(length);
  const future = mx.greater(positions.reshape(1, length), positions.reshape(length, 1));
  return mx.where(future, mx.array(-Infinity, dtype), mx.array(0, dtype));
}
