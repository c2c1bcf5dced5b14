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
    const attended = context.mask
      ? mx.fast.scaledDotProductAttention(queries, context.keys, context.values, scale, context.mask)
      : mx.fast.scaledDotProductAttention(queries, context.keys, context.values, scale);
    return out.forward(attended.transpose(0, 2, 1, 3).reshape(batch, length, heads * headDim));
  }
}
