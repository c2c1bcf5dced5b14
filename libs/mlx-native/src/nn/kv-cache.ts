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
