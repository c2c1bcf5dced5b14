import { core as mx } from '@frost-beta/mlx';
import { fullAttention, splitHeads } from './full-attention';
import { BatchedRowsCache, RowCaches, type AttentionContext, type BatchedAttentionContext, type KVCache, type LayerCache } from './kv-cache';
import type { Linear, RMSNorm } from './layers';
import type { Rope } from './rope';

const all = mx.Slice();

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

  /**
   * With a batch's caches the projections run once for the whole batch; with {@link BatchedRowsCache}
   * rotation and attention do too, each row at its own position, while with {@link RowCaches} they
   * run per row.
   */
  forward(x: mx.array, cache: LayerCache): mx.array {
    const { qkv, out, heads, kvHeads, headDim, queryNorm, keyNorm } = this.p;
    const [batch, length] = x.shape;
    const [q, k, v] = qkv(x);
    const toHeads = (t: mx.array, count: number, norm?: RMSNorm): mx.array => {
      const split = t.reshape(batch, length, count, headDim);
      return (norm ? norm.forward(split) : split).transpose(0, 2, 1, 3);
    };
    const queries = toHeads(q, heads, queryNorm);
    const keys = toHeads(k, kvHeads, keyNorm);
    const values = toHeads(v, kvHeads);
    let attended: mx.array;
    if (cache instanceof BatchedRowsCache) {
      attended = this.attendBatched(queries, keys, values, cache);
    } else if (!(cache instanceof RowCaches)) {
      attended = this.attend(queries, keys, values, cache);
    } else if (cache.rows.length > 1 && length === 1) {
      attended = this.attendRows(queries, keys, values, cache.rows);
    } else {
      attended = mx.concatenate(
        cache.rows.map((rowCache, r) => this.attendOwnTokens(queries, keys, values, r, rowCache, cache.lengths?.[r] ?? length)),
        0,
      );
    }
    return out.forward(attended.transpose(0, 2, 1, 3).reshape(batch, length, heads * headDim));
  }

  /** Rotates to the cache's position, appends, and attends: heads-first tensors of one sequence (or a batch sharing one cache). */
  private attend(queries: mx.array, keys: mx.array, values: mx.array, cache: KVCache): mx.array {
    const { rope } = this.p;
    const offset = cache.offset;
    const context = cache.update(rope.apply(keys, offset), values);
    return this.attendTo(rope.apply(queries, offset), context);
  }

  /**
   * Row r's last `own` positions attended against its own cache; the left padding before them (a
   * shorter prompt in a batched prefill) is neither cached nor seen, and its output is zeros.
   */
  private attendOwnTokens(queries: mx.array, keys: mx.array, values: mx.array, r: number, cache: KVCache, own: number): mx.array {
    const length = queries.shape[2];
    const ownPart = (t: mx.array): mx.array => (own === length ? row(t, r) : t.index(mx.Slice(r, r + 1), all, mx.Slice(length - own)));
    const attended = this.attend(ownPart(queries), ownPart(keys), ownPart(values), cache);
    return own === length ? attended : mx.pad(attended, [[0, 0], [0, 0], [length - own, 0], [0, 0]]);
  }

  /** One decoded token per row: every row rotated at its own position in one go, then attended against its own cache. */
  private attendRows(queries: mx.array, keys: mx.array, values: mx.array, rows: readonly KVCache[]): mx.array {
    const { rope } = this.p;
    const positions = rows.map((rowCache) => rowCache.offset);
    const rotatedQueries = rope.applyRows(queries, positions);
    const rotatedKeys = rope.applyRows(keys, positions);
    return mx.concatenate(
      rows.map((rowCache, r) => this.attendTo(row(rotatedQueries, r), rowCache.update(row(rotatedKeys, r), row(values, r)))),
      0,
    );
  }

  /** One decoded token per row, every row rotated at its own position, appended and attended in one go. */
  private attendBatched(queries: mx.array, keys: mx.array, values: mx.array, cache: BatchedRowsCache): mx.array {
    const { rope, scale, sinks } = this.p;
    const positions = [...cache.offsets];
    const context = cache.update(rope.applyRows(keys, positions), values);
    return oneQueryAttention(rope.applyRows(queries, positions), context, scale, sinks);
  }

  private attendTo(queries: mx.array, context: AttentionContext): mx.array {
    const { scale, sinks } = this.p;
    if (sinks) {
      return attendWithSinks(queries, context.keys, context.values, scale, context.mask, sinks);
    }
    if (context.mask) {
      return mx.fast.scaledDotProductAttention(queries, context.keys, context.values, scale, context.mask);
    }
    return mx.fast.scaledDotProductAttention(queries, context.keys, context.values, scale);
  }
}

/** Row r of a batch, keeping the batch axis. */
function row(t: mx.array, r: number): mx.array {
  return t.index(mx.Slice(r, r + 1));
}

export interface BidirectionalAttentionParts {
  qkv: QkvProjection;
  out: Linear;
  heads: number;
  scale: number;
  /** Rotary positions from 0 (ModernBERT); absent for encoders with absolute position embeddings (BERT). */
  rope?: Rope;
}

/** Encoder self-attention: every query sees every key the mask lets through, before and after it; no cache. */
export class BidirectionalAttention {
  constructor(private readonly p: BidirectionalAttentionParts) {}

  /** x [batch, length, hidden]; `mask` from {@link paddingMask} (undefined: every key visible). */
  forward(x: mx.array, mask: mx.array | undefined): mx.array {
    const { qkv, out, heads, scale, rope } = this.p;
    const [q, k, v] = qkv(x).map((t) => splitHeads(t, heads));
    const positioned = (t: mx.array): mx.array => (rope ? rope.apply(t, 0) : t);
    return out.forward(fullAttention(positioned(q), positioned(k), v, scale, mask));
  }
}

/**
 * Large and negative but finite: a query that sees no key at all (a padding position outside
 * every real token's local window) then averages harmlessly instead of turning into NaN, which
 * the next layer would spread to every row through the masked keys (NaN · 0 is NaN). Real queries
 * still give masked keys exactly zero weight (exp underflows). In float16 two of them must still
 * add up to a finite value.
 */
function maskedValue(dtype: mx.Dtype): number {
  return String(dtype) === 'float16' ? -3e4 : -1e30;
}

/**
 * Additive attention mask for a right-padded batch: row b has `lengths[b]` real tokens, and its keys
 * at or after that are hidden from every query. With `window`, query i sees only keys j with
 * |i − j| ≤ window as well (ModernBERT's local layers). [batch, 1, 1, keys] without a window,
 * [batch, 1, queries, keys] with one; undefined when nothing is hidden.
 *
 * Additive rather than boolean: the boolean-mask path of fast.scaledDotProductAttention in
 * @frost-beta/mlx 0.0.7 gives wrong results (see lm/cache/mask.ts).
 */
export function paddingMask(lengths: readonly number[], paddedLength: number, dtype: mx.Dtype, window?: number): mx.array | undefined {
  const padded = lengths.some((length) => length < paddedLength);
  const windowed = window !== undefined && paddedLength > window + 1;
  if (!padded && !windowed) {
    return undefined;
  }
  const hidden = maskedValue(dtype);
  const keyMask = lengths.map((length) => Array.from({ length: paddedLength }, (_, j) => (j < length ? 0 : hidden)));
  const keys = mx.array(keyMask, mx.float32).reshape(lengths.length, 1, 1, paddedLength);
  if (!windowed) {
    return keys.astype(dtype);
  }
  const positions = mx.arange(0, paddedLength, 1, mx.int32);
  const distance = mx.abs(mx.subtract(mx.expandDims(positions, 1), mx.expandDims(positions, 0)));
  const local = mx.where(mx.lessEqual(distance, window), mx.array(0, mx.float32), mx.array(hidden, mx.float32));
  // Both masks add; a sum of two hidden values stays finite and far below any real score.
  return mx.add(keys, local).astype(dtype);
}

/**
 * Attention of one query per row ([batch, heads, 1, headDim]) against that row's keys, each row's
 * mask hiding what it must not see. Grouped-query heads are matched by viewing the queries as
 * [kvHeads, group], so each (row, kv head) is one small product and keys are never copied per query
 * head. With `sinks`, a sink logit per head joins every softmax (gpt-oss).
 */
function oneQueryAttention(queries: mx.array, context: BatchedAttentionContext, scale: number, sinks: mx.array | undefined): mx.array {
  const { keys, values, mask } = context;
  const [batch, heads, , headDim] = queries.shape;
  const kvHeads = keys.shape[1];
  const group = heads / kvHeads;
  const q = mx.multiply(queries.reshape(batch, kvHeads, group, headDim), mx.array(scale, queries.dtype));
  const scores = mx.add(mx.matmul(q, keys.transpose(0, 1, 3, 2)), mask);
  return mx.matmul(softmaxWithSinks(scores, sinks), values).reshape(batch, heads, 1, headDim);
}

/**
 * Softmax over the keys (last axis) of grouped-query scores [batch, kvHeads, group, ..., keys]. With
 * `sinks` [heads], each query head's sink logit joins its softmax as one more key with no value and is
 * dropped after it.
 */
function softmaxWithSinks(scores: mx.array, sinks: mx.array | undefined): mx.array {
  if (!sinks) {
    return mx.softmax(scores, -1, true);
  }
  const shape = scores.shape;
  const [, kvHeads, group] = shape;
  const perHead = sinks.astype(scores.dtype).reshape(1, kvHeads, group, ...shape.slice(3).map(() => 1));
  const sinkColumn = mx.broadcastTo(perHead, [...shape.slice(0, -1), 1]);
  return mx.softmax(mx.concatenate([scores, sinkColumn], -1), -1, true).index('...', mx.Slice(0, shape[shape.length - 1]));
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
  const q = queries.reshape(batch, kvHeads, group, length, headDim);
  let scores = mx.multiply(mx.matmul(q, mx.expandDims(keys.transpose(0, 1, 3, 2), 2)), mx.array(scale, queries.dtype));
  if (mask) {
    scores = mx.add(scores, mask);
  }
  return mx.matmul(softmaxWithSinks(scores, sinks), mx.expandDims(values, 2)).reshape(batch, heads, length, headDim);
}
