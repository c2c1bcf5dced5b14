import type { core as mx } from '@frost-beta/mlx';
import type { ForkableKVCache, LayerCache } from '../nn/kv-cache';

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
   * call sees only `tokens`. A layer's entry may be a batch's caches (RowCaches,
   * BatchedRowsCache): then row r of `tokens` continues its own sequence (continuous batching).
   */
  forward(tokens: mx.array, cache?: LayerCache[], options?: ForwardOptions): mx.array;
  /** A fresh cache with one entry per layer (rotating for sliding-window layers). */
  createCache(): ForkableKVCache[];
}

/** A language model whose hidden states can be read, as every architecture here builds one. */
export interface DecoderLanguageModel extends LanguageModel {
  /**
   * The last layer's output after the final norm, [batch, length, hidden]: what `forward` feeds the
   * output head. Decoder embedders pool it; rerankers take a few logits of one position from it.
   */
  hiddenStates(tokens: mx.array, cache?: LayerCache[]): mx.array;
  /** The output head: hidden states [..., hidden] → float32 vocabulary logits [..., vocab]. */
  logits(hidden: mx.array): mx.array;
}
