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

export interface ForwardOptions {
  /**
   * Compute logits for the last position only. Prefill wants this: a 512-token chunk over a
   * 150k vocabulary would otherwise materialise 300 MB of logits nobody reads.
   */
  lastTokenOnly?: boolean;
}

/**
 * The one interface every architecture implements. Generation code depends on nothing else,
 * so adding an architecture never touches sampling, stopping or streaming.
 */
export interface LanguageModel {
  readonly modelType: string;
  readonly vocabSize: number;
  /** Longest sequence the model was trained for (max_position_embeddings or its equivalent). */
  readonly contextLength: number;
  /**
   * Token ids [batch, length] (int32) → logits [batch, length, vocab] (float32), or
   * [batch, 1, vocab] with `lastTokenOnly`. Appends to `cache` when given; without one the
   * call sees only `tokens`.
   */
  forward(tokens: mx.array, cache?: KVCache[], options?: ForwardOptions): mx.array;
  /** A fresh cache with one entry per layer (rotating for sliding-window layers). */
  createCache(): KVCache[];
}
