import { core as mx } from '@frost-beta/mlx';
import type { AttentionContext, ForkableKVCache } from '../../nn/kv-cache';
import { attentionMask } from './mask';
import { KV_CACHE_STEP } from './standard-kv-cache';

const all = mx.Slice();

/**
 * Cache for a sliding-window layer: keeps only the last `window` positions, so memory stays
 * bounded however long the sequence grows.
 *
 * Decoding one token writes into a ring buffer in place; the keys then come back out of
 * temporal order, which is harmless because a single query sees every stored key. A multi-token
 * chunk (prefill) first puts the history back in order and returns `window - 1` old keys plus the
 * chunk, so that each query of the chunk still sees its full window, with a mask for the rest.
 */
export class RotatingKVCache implements ForkableKVCache {
  private keys: mx.array | undefined;
  private values: mx.array | undefined;
  private seen = 0;
  /** How many buffer slots hold keys (≤ window). */
  private filled = 0;
  /** Slot the next single token goes to once the buffer is full: the oldest one. */
  private next = 0;

  constructor(readonly window: number) {
    if (!Number.isInteger(window) || window < 1) {
      throw new RangeError(`sliding window must be a positive integer, got ${window}`);
    }
  }

  get offset(): number {
    return this.seen;
  }

  get nbytes(): number {
    return (this.keys?.nbytes ?? 0) + (this.values?.nbytes ?? 0);
  }

  /**
   * Forks at the current position, or at an earlier one while no position has been dropped yet; past
   * that the window no longer holds what an earlier position's queries would need.
   */
  fork(length = this.seen): RotatingKVCache | undefined {
    if (!Number.isInteger(length) || length < 0 || length > this.seen) {
      throw new RangeError(`cannot fork ${length} positions of a cache holding ${this.seen}`);
    }
    const dropped = this.seen - this.filled;
    if (length < this.seen && dropped > 0) {
      return undefined;
    }
    const copy = new RotatingKVCache(this.window);
    const kept = length - dropped;
    if (kept > 0 && this.keys && this.values) {
      const head = mx.Slice(0, kept);
      // In temporal order, so the copy's ring starts unwrapped: its oldest slot is slot 0.
      copy.keys = this.inTemporalOrder(this.keys).index(all, all, head, all);
      copy.values = this.inTemporalOrder(this.values).index(all, all, head, all);
      copy.filled = kept;
      copy.next = kept % this.window;
    }
    copy.seen = length;
    return copy;
  }

  update(keys: mx.array, values: mx.array): AttentionContext {
    return keys.shape[2] === 1 ? this.appendOne(keys, values) : this.appendChunk(keys, values);
  }

  private appendOne(keys: mx.array, values: mx.array): AttentionContext {
    if (!this.keys || !this.values || (this.filled < this.window && this.filled === this.keys.shape[2])) {
      this.grow(keys, values);
    }
    const bufKeys = this.keys as mx.array;
    const bufValues = this.values as mx.array;
    const slot = this.filled < this.window ? this.filled : this.next;
    bufKeys.indexPut_([all, all, mx.Slice(slot, slot + 1), all], keys);
    bufValues.indexPut_([all, all, mx.Slice(slot, slot + 1), all], values);
    this.filled = Math.min(this.filled + 1, this.window);
    this.next = (slot + 1) % this.window;
    this.seen += 1;
    // The whole buffer, as in StandardKVCache and for the same reason. Full, it holds exactly the
    // window; until then slot i holds position seen - filled + i and the empty slots are "future".
    const mask =
      this.filled === this.window
        ? undefined
        : attentionMask(this.seen - 1, 1, this.seen - this.filled, bufKeys.shape[2], keys.dtype);
    return { keys: bufKeys, values: bufValues, mask };
  }

  private appendChunk(keys: mx.array, values: mx.array): AttentionContext {
    const length = keys.shape[2];
    const kept = Math.min(this.filled, this.window - 1);
    const history = (buffer: mx.array | undefined, chunk: mx.array): mx.array => {
      if (!buffer || kept === 0) {
        return chunk;
      }
      const ordered = this.inTemporalOrder(buffer);
      const tail = ordered.index(all, all, mx.Slice(this.filled - kept, this.filled), all);
      return mx.concatenate([tail, chunk], 2);
    };
    const allKeys = history(this.keys, keys);
    const allValues = history(this.values, values);
    const total = kept + length;
    const mask = attentionMask(this.seen, length, this.seen - kept, total, keys.dtype, this.window);

    const stored = Math.min(this.window, total);
    const last = mx.Slice(total - stored, total);
    this.keys = allKeys.index(all, all, last, all);
    this.values = allValues.index(all, all, last, all);
    this.filled = stored;
    this.next = stored % this.window;
    this.seen += length;
    return { keys: allKeys, values: allValues, mask };
  }

  /** The stored slots, oldest first: the ring is cut at the write position once it has wrapped. */
  private inTemporalOrder(buffer: mx.array): mx.array {
    if (this.filled < this.window || this.next === 0) {
      return buffer.index(all, all, mx.Slice(0, this.filled), all);
    }
    return mx.concatenate(
      [buffer.index(all, all, mx.Slice(this.next, this.window), all), buffer.index(all, all, mx.Slice(0, this.next), all)],
      2,
    );
  }

  /** Adds up to KV_CACHE_STEP slots (never beyond the window), keeping the stored keys in order. */
  private grow(keys: mx.array, values: mx.array): void {
    const capacity = Math.min(this.window, this.filled + KV_CACHE_STEP);
    const extend = (current: mx.array | undefined, like: mx.array): mx.array => {
      const [batch, heads, , dim] = like.shape;
      const extra = mx.zeros([batch, heads, capacity - this.filled, dim], like.dtype);
      return current && this.filled > 0 ? mx.concatenate([this.inTemporalOrder(current), extra], 2) : extra;
    };
    this.keys = extend(this.keys, keys);
    this.values = extend(this.values, values);
    this.next = this.filled % this.window;
  }
}
