import { core as mx } from '@frost-beta/mlx';

/**
 * Every layer of a step asks for the same mask; keep recent ones instead of rebuilding them per layer.
 * A batched step asks for one per row (each at its own position), so room for a full batch and more.
 */
const recentMasks: Array<{ key: string; mask: mx.array | undefined }> = [];
const RECENT_MASKS = 64;

/**
 * Additive attention mask [queryLength, keyLength]: 0 where query i (at absolute position
 * queryStart + i) may see key j (at keyStart + j), -inf elsewhere. A key is visible when it is
 * not in the future and, with a sliding window, fewer than `window` positions back (the query
 * itself counts as one), as in Hugging Face's and mlx-lm's sliding-window masks.
 *
 * Additive rather than boolean: the boolean-mask path of fast.scaledDotProductAttention in
 * @frost-beta/mlx 0.0.7 gives wrong results (measured), the additive one matches a plain softmax.
 */
export function attentionMask(
  queryStart: number,
  queryLength: number,
  keyStart: number,
  keyLength: number,
  dtype: mx.Dtype,
  window?: number,
): mx.array | undefined {
  const key = `${queryStart}:${queryLength}:${keyStart}:${keyLength}:${String(dtype)}:${window ?? ''}`;
  const recent = recentMasks.find((m) => m.key === key);
  if (recent) {
    return recent.mask;
  }
  const mask = buildMask(queryStart, queryLength, keyStart, keyLength, dtype, window);
  recentMasks.unshift({ key, mask });
  recentMasks.length = Math.min(recentMasks.length, RECENT_MASKS);
  return mask;
}

function buildMask(
  queryStart: number,
  queryLength: number,
  keyStart: number,
  keyLength: number,
  dtype: mx.Dtype,
  window?: number,
): mx.array | undefined {
  const lastQuery = queryStart + queryLength - 1;
  const allVisible =
    keyStart + keyLength - 1 <= queryStart && (window === undefined || keyStart > lastQuery - window);
  if (allVisible) {
    return undefined;
  }
  const queryPos = mx.expandDims(mx.arange(queryStart, queryStart + queryLength, 1, mx.int32), 1);
  const keyPos = mx.expandDims(mx.arange(keyStart, keyStart + keyLength, 1, mx.int32), 0);
  let visible = mx.lessEqual(keyPos, queryPos);
  if (window !== undefined) {
    visible = mx.logicalAnd(visible, mx.greater(keyPos, mx.subtract(queryPos, window)));
  }
  return mx.where(visible, mx.array(0, dtype), mx.array(-Infinity, dtype));
}
