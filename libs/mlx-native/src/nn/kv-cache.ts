import type { core as mx } from '@frost-beta/mlx';

/** What attention reads back after appending one chunk of keys/values to a layer's cache. */
export interface AttentionContext {
  /**
   * [batch, kvHeads, keyLength, headDim]: every key the new queries may see, cached ones included,
   * possibly with slots they must not see (preallocated, not yet written), which the mask hides.
   */
  keys: mx.array;
  values: mx.array;
  /** Additive mask [queryLength, keyLength] (0 or -inf), or undefined when every query sees every key. */
  mask: mx.array | undefined;
}

/** Per-layer attention state carried between forward calls; `offset` counts the tokens already seen. */
export interface KVCache {
  readonly offset: number;
  /** Appends keys/values [batch, kvHeads, length, headDim] and returns what the new queries attend to. */
  update(keys: mx.array, values: mx.array): AttentionContext;
}

/** A language model's per-layer cache, which the batch engine measures, forks and keeps for reuse. */
export interface ForkableKVCache extends KVCache {
  /** Bytes its buffers hold now (preallocated room included). */
  readonly nbytes: number;
  /**
   * An independent cache holding the first `length` positions (default: all), which later updates of
   * either never disturb; undefined when this cache no longer stores them (a sliding window that moved
   * past them).
   */
  fork(length?: number): ForkableKVCache | undefined;
}

/** Bytes a sequence's per-layer caches hold together. */
export function cacheBytes(caches: readonly ForkableKVCache[]): number {
  return caches.reduce((sum, cache) => sum + cache.nbytes, 0);
}

/**
 * One layer's caches of independent sequences run as the rows of one batch (continuous batching):
 * row r of the batch appends to `rows[r]` at its own position, and attends on its own. Sliding-window
 * layers batch this way with no extra bookkeeping.
 */
export class RowCaches {
  /**
   * @param lengths Tokens of the call that are row r's own, by row (default: all of them). A row with
   *   fewer is padded on the left: its tokens are the last `lengths[r]` of the call, and the padding
   *   before them is neither cached nor attended to, so prompts of different lengths prefill together.
   */
  constructor(
    readonly rows: readonly KVCache[],
    readonly lengths?: readonly number[],
  ) {}
}

/**
 * What the one-token rows of a batch attend to: views of the shared buffers' slots in use. The scores'
 * product takes the keys' view transposed, which the CPU backend hands to BLAS as it is; keys stored
 * transposed gave a view whose rows are longer than its width, which the backend copies first (the
 * scores of 8 rows × 12 heads over 200 slots: 1.2 ms instead of 0.5). A view whose JS wrapper outlives
 * its step keeps the next in-place write from reusing the buffer, which then copies it whole; the
 * batch engine's scavenge after each step (workers run with --expose-gc) frees them before the next
 * write.
 */
export interface BatchedAttentionContext {
  /** [rows, kvHeads, keyLength, headDim] */
  keys: mx.array;
  /** [rows, kvHeads, keyLength, headDim] */
  values: mx.array;
  /** Additive [rows, 1, 1, keyLength] (0 or -inf): what each row must not see (other rows' longer histories, unwritten slots). */
  mask: mx.array;
}

/**
 * One layer's keys and values for every row of a decoding batch in shared buffers, each row at its own
 * position: a step appends one token to every row in one update and attends for all rows at once.
 */
export abstract class BatchedRowsCache {
  /** Tokens each row has seen: row r's next token takes position offsets[r]. */
  abstract readonly offsets: readonly number[];
  /** Appends one position per row (keys/values [rows, kvHeads, 1, headDim]). */
  abstract update(keys: mx.array, values: mx.array): BatchedAttentionContext;
}

/** What a layer's attention appends to: one sequence's cache, or the rows of a batch. */
export type LayerCache = KVCache | RowCaches | BatchedRowsCache;
