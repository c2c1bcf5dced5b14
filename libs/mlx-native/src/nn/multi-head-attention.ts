import { core as mx } from '@frost-beta/mlx';
import { fullAttention, mergeHeads, splitHeads } from './full-attention';
import type { AttentionContext, KVCache } from './kv-cache';
import type { Linear } from './layers';

export interface MultiHeadAttentionParts {
  query: Linear;
  key: Linear;
  value: Linear;
  out: Linear;
  heads: number;
  headDim: number;
  /** The scores' scale; default 1/√headDim (T5 folds it into its weights: 1). */
  scale?: number;
}

/** Keys and values [batch, heads, length, headDim] of a sequence attended to. */
export interface KeysValues {
  keys: mx.array;
  values: mx.array;
}

/**
 * Multi-head attention without rotary positions (Whisper, CLIP's and T5's text encoders, BERT-style
 * encoders): bidirectional self-attention, self-attention under an additive mask (causal, or a
 * position bias), causal self-attention over a KV cache, or cross-attention to keys and values
 * projected once from another sequence (an encoder's output, reused at every decoding step).
 */
export class MultiHeadAttention {
  private readonly scale: number;

  constructor(private readonly p: MultiHeadAttentionParts) {
    this.scale = p.scale ?? 1 / Math.sqrt(p.headDim);
  }

  /** Projects `source` [batch, length, hidden] to the keys and values other sequences attend to. */
  keysValues(source: mx.array): KeysValues {
    return { keys: splitHeads(this.p.key.forward(source), this.p.heads), values: splitHeads(this.p.value.forward(source), this.p.heads) };
  }

  /**
   * Self-attention; with a cache the new keys are appended and the cache's causal mask applies,
   * without one `mask` does (additive [queries, keys]: causal, or a bias such as T5's), if any.
   */
  selfAttend(x: mx.array, { cache, mask }: { cache?: KVCache; mask?: mx.array } = {}): mx.array {
    const { keys, values } = this.keysValues(x);
    const context: AttentionContext = cache ? cache.update(keys, values) : { keys, values, mask };
    return this.attend(x, context);
  }

  /** `x` attends to `context` (cross-attention, or self-attention through a cache). */
  attend(x: mx.array, context: AttentionContext): mx.array {
    const queries = splitHeads(this.p.query.forward(x), this.p.heads);
    return this.p.out.forward(fullAttention(queries, context.keys, context.values, this.scale, context.mask));
  }

  /**
   * Like `attend`, and also returns the scaled scores q·kᵀ/√headDim [batch, heads, queries, keys]
   * before the softmax: cross-attention alignment (Whisper's word timestamps) reads them.
   */
  attendWithScores(x: mx.array, context: AttentionContext): { output: mx.array; scores: mx.array } {
    const queries = splitHeads(this.p.query.forward(x), this.p.heads);
    let scores = mx.multiply(mx.matmul(queries, context.keys.transpose(0, 1, 3, 2)), this.scale);
    if (context.mask) {
      scores = mx.add(scores, context.mask);
    }
    const weights = mx.softmax(scores, -1, true);
    return { output: this.p.out.forward(mergeHeads(mx.matmul(weights, context.values))), scores };
  }
}

const all = mx.Slice();

/**
 * A KV cache of fixed capacity (a decoder with a hard context limit, as Whisper's 448 text
 * positions), written in place. Attention reads the whole buffer with an additive mask hiding
 * the future and the unwritten slots, never a slice of it (see StandardKVCache in lm/ for why).
 */
export class FixedKVCache implements KVCache {
  private keys: mx.array | undefined;
  private values: mx.array | undefined;
  private seen = 0;

  constructor(private readonly capacity: number) {}

  get offset(): number {
    return this.seen;
  }

  update(keys: mx.array, values: mx.array): AttentionContext {
    const [batch, heads, length, headDim] = keys.shape;
    const start = this.seen;
    if (start + length > this.capacity) {
      throw new RangeError(`the cache holds ${this.capacity} positions; ${start + length} were asked for`);
    }
    this.keys ??= mx.zeros([batch, heads, this.capacity, headDim], keys.dtype);
    this.values ??= mx.zeros([batch, heads, this.capacity, headDim], values.dtype);
    const range = mx.Slice(start, start + length);
    this.keys.indexPut_([all, all, range, all], keys);
    this.values.indexPut_([all, all, range, all], values);
    this.seen = start + length;
    const queryPositions = mx.expandDims(mx.arange(start, start + length, 1, mx.int32), 1);
    const keyPositions = mx.expandDims(mx.arange(0, this.capacity, 1, mx.int32), 0);
    const mask = mx.where(mx.lessEqual(keyPositions, queryPositions), mx.array(0, keys.dtype), mx.array(-Infinity, keys.dtype));
    return { keys: this.keys, values: this.values, mask };
  }
}
