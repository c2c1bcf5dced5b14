import { core as mx } from '@frost-beta/mlx';
import type { KVCache } from './kv-cache';
import type { Linear, RMSNorm } from './layers';
import type { Rope } from './rope';

/** Input projections of attention: x [batch, length, hidden] → q, k, v, each [batch, length, heads·headDim]. */
export type QkvProjection = (x: mx.array) => [mx.array, mx.array, mx.array];

export function separateQkv(q: Linear, k: Linear, v: Linear): QkvProjection {
  return (x) => [q.forward(x), k.forward(x), v.forward(x)];
}

/** One matrix for all three (Phi-3's qkv_proj): rows are q, then k, then v. */
export function fusedQkv(qkv: Linear, queryWidth: number, kvWidth: number): QkvProjection {
  return (x) => {
    const [q, k, v] = mx.split(qkv.forward(x), [queryWidth, queryWidth + kvWidth], -1);
    return [q, k, v];
  };
}

export interface AttentionParts {
  qkv: QkvProjection;
  out: Linear;
  heads: number;
  /** Fewer than `heads` for grouped-query attention; the fused kernel broadcasts them. */
  kvHeads: number;
  headDim: number;
  /** Multiplies q·k; 1/√headDim unless the model says otherwise (Gemma's query_pre_attn_scalar). */
  scale: number;
  rope: Rope;
  /** Per-head RMSNorm of queries and keys before rotation (Qwen3, Gemma 3). */
  queryNorm?: RMSNorm;
  keyNorm?: RMSNorm;
  /**
   * Per-head learned logits [heads] that join every softmax as one more key with no value
   * (gpt-oss's attention sinks): a head can then attend to "nothing" instead of being forced
   * to spread its weight over the keys it sees.
   */
  sinks?: mx.array;
}

/** Multi-head scaled dot-product attention with rotary positions and a KV cache. */
export class Attention {
  constructor(private readonly p: AttentionParts) {}

  forward(x: mx.array, cache: KVCache): mx.array {
    const { qkv, out, heads, kvHeads, headDim, scale, rope, queryNorm, keyNorm } = this.p;
    const [batch, length] = x.shape;
    const [q, k, v] = qkv(x);
    const toHeads = (t: mx.array, count: number, norm?: RMSNorm): mx.array => {
      const split = t.reshape(batch, length, count, headDim);
      return (norm ? norm.forward(split) : split).transpose(0, 2, 1, 3);
    };
    const offset = cache.offset;
    const queries = rope.apply(toHeads(q, heads, queryNorm), offset);
    const keys = rope.apply(toHeads(k, kvHeads, keyNorm), offset);
    const context = cache.update(keys, toHeads(v, kvHeads));
    let attended: mx.array;
    if (this.p.sinks) {
      attended = attendWithSinks(queries, context.keys, context.values, scale, context.mask, this.p.sinks);
    } else if (context.mask) {
      attended = mx.fast.scaledDotProductAttention(queries, context.keys, context.values, scale, context.mask);
    } else {
      attended = mx.fast.scaledDotProductAttention(queries, context.keys, context.values, scale);
    }
    return out.forward(attended.transpose(0, 2, 1, 3).reshape(batch, length, heads * headDim));
  }
}

/**
 * Softmax attention with a sink logit per head appended to every row of scores and dropped
 * after the softmax. The fused kernel of this binding takes no sinks, so the scores are formed
 * explicitly; grouped-query heads are matched by viewing the queries as [kvHeads, group] rather
 * than by copying keys and values per query head.
 */
function attendWithSinks(
  queries: mx.array,
  keys: mx.array,
  values: mx.array,
  scale: number,
  mask: mx.array | undefined,
  sinks: mx.array,
): mx.array {
  const [batch, heads, length, headDim] = queries.shape;
  const kvHeads = keys.shape[1];
  const group = heads / kvHeads;
  const keyLength = keys.shape[2];
  const q = queries.reshape(batch, kvHeads, group, length, headDim);
  let scores = mx.multiply(mx.matmul(q, mx.expandDims(keys.transpose(0, 1, 3, 2), 2)), mx.array(scale, queries.dtype));
  if (mask) {
    scores = mx.add(scores, mask);
  }
  const sinkColumn = mx.broadcastTo(sinks.astype(scores.dtype).reshape(1, kvHeads, group, 1, 1), [batch, kvHeads, group, length, 1]);
  const weights = mx.softmax(mx.concatenate([scores, sinkColumn], -1), -1, true).index('...', mx.Slice(0, keyLength));
  return mx.matmul(weights, mx.expandDims(values, 2)).reshape(batch, heads, length, headDim);
}
