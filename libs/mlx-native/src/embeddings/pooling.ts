import { core as mx } from '@frost-beta/mlx';
import type { PoolingMode } from './sentence-transformers';

/** [batch, length, 1] float mask: 1 on each row's first `lengths[b]` tokens, 0 on its padding. */
function tokenMask(lengths: readonly number[], length: number, dtype: mx.Dtype): mx.array {
  const rows = lengths.map((n) => Array.from({ length }, (_, j) => (j < n ? 1 : 0)));
  return mx.array(rows, mx.float32).reshape(lengths.length, length, 1).astype(dtype);
}

/**
 * One vector per row of hidden states [batch, length, hidden], as sentence-transformers' Pooling
 * computes it over the attention mask: the first token, the mean (special tokens included, padding
 * not), the per-dimension maximum, the mean scaled by √length, or the last real token.
 */
export function pool(hidden: mx.array, lengths: readonly number[], mode: PoolingMode): mx.array {
  const [batch, length] = hidden.shape;
  switch (mode) {
    case 'cls':
      return hidden.index(mx.Slice(), 0, mx.Slice());
    case 'lasttoken': {
      const last = mx.array(lengths.map((n) => n - 1), mx.int32).reshape(batch, 1, 1);
      return mx.takeAlongAxis(hidden, last, 1).reshape(batch, hidden.shape[2]);
    }
    case 'max': {
      const mask = tokenMask(lengths, length, hidden.dtype);
      return mx.max(mx.where(mx.greater(mask, 0), hidden, mx.array(-Infinity, hidden.dtype)), 1);
    }
    case 'mean':
    case 'mean_sqrt_len_tokens': {
      const sums = mx.sum(mx.multiply(hidden, tokenMask(lengths, length, hidden.dtype)), 1);
      const divisors = lengths.map((n) => (mode === 'mean' ? n : Math.sqrt(n)));
      return mx.divide(sums, mx.array(divisors, mx.float32).reshape(batch, 1).astype(hidden.dtype));
    }
  }
}

/** Rows scaled to unit length, as torch's F.normalize (a zero row stays zero). */
export function l2Normalize(vectors: mx.array): mx.array {
  const norms = mx.sqrt(mx.sum(mx.square(vectors), -1, true));
  return mx.divide(vectors, mx.maximum(norms, 1e-12));
}
