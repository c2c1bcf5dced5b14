import { core as mx } from '@frost-beta/mlx';
import { BatchedRowsCache, type BatchedAttentionContext } from '../../nn/kv-cache';
import { KV_CACHE_STEP, StandardKVCache } from './standard-kv-cache';

const all = mx.Slice();

/** Where positions run in both buffers ([rows, kvHeads, slots, headDim]). */
const SLOTS = 2;

/** Every layer of a step asks for the same mask: the last one built is kept. */
let recentMask: { key: string; mask: mx.array } | undefined;

/** Widths for mx.pad that add `before` and `after` slots to a buffer. */
function slotPadding(before: number, after: number): [number, number][] {
  return [0, 1, 2, 3].map((dim) => (dim === SLOTS ? [before, after] : [0, 0]));
}

/**
 * A full-attention layer's keys and values for the rows of a decoding batch, one buffer per tensor
 * with every row's history right-aligned: all rows' next tokens go to the same slot, so a step writes
 * every row with one update and attention runs once for the batch. (A loop over per-row caches costs
 * about ten small operations per row and layer, most of a step of 8 rows on the CPU backend.) A row
 * shorter than the longest is padded on the left, and the mask hides its padding. Rows joining or
 * leaving copy the buffers once; a step copies one token per row.
 *
 * Attention reads views of the slots in use (see {@link BatchedAttentionContext}); everything else read
 * from the buffers is a product, a gather or a copy.
 */
export class AlignedRowsCache extends BatchedRowsCache {
  /** [rows, kvHeads, capacity, headDim] */
  private keys: mx.array | undefined;
  /** [rows, kvHeads, capacity, headDim] */
  private values: mx.array | undefined;
  /** The slot every row's next token goes to; row r's history fills the `lengths[r]` slots before it. */
  private end = 0;
  private readonly lengths: number[] = [];

  get offsets(): readonly number[] {
    return this.lengths;
  }

  get nbytes(): number {
    return (this.keys?.nbytes ?? 0) + (this.values?.nbytes ?? 0);
  }

  private get capacity(): number {
    return this.values?.shape[SLOTS] ?? 0;
  }

  /**
   * Appends rows holding these caches' positions, in order. Rows that join together cost one copy of
   * the buffers: fresh memory is slow to fault in (3 ms per MB in the development VM), and a copy per
   * row made 7 rows joining a served batch of one take 1.6 s (0.35 s in one copy).
   */
  add(caches: readonly StandardKVCache[]): void {
    const lengths = caches.map((cache) => cache.offset);
    const histories = caches.map((cache) => cache.stored());
    const like = histories.find((history) => history !== undefined);
    const longest = Math.max(this.end, ...lengths);
    if (like !== undefined && (this.keys === undefined || this.values === undefined)) {
      // The first rows with a history: the rows so far (all empty) get buffers just as long as the longest.
      const empty = (history: mx.array) =>
        mx.zeros(history.shape.map((size, dim) => (dim === 0 ? this.lengths.length : dim === SLOTS ? longest : size)), history.dtype);
      this.keys = empty(like.keys);
      this.values = empty(like.values);
      this.end = longest;
    } else if (longest > this.end && this.keys !== undefined && this.values !== undefined) {
      // Every row moves right, so that the longest newcomer's history ends where theirs does.
      this.keys = mx.pad(this.keys, slotPadding(longest - this.end, 0));
      this.values = mx.pad(this.values, slotPadding(longest - this.end, 0));
      this.end = longest;
    }
    if (this.keys !== undefined && this.values !== undefined) {
      const [keys, values, capacity] = [this.keys, this.values, this.capacity];
      const place = (rowHistory: mx.array | undefined, length: number, buffer: mx.array): mx.array =>
        rowHistory === undefined
          ? mx.zeros(buffer.shape.map((size, dim) => (dim === 0 ? 1 : size)), buffer.dtype)
          : mx.pad(rowHistory, slotPadding(this.end - length, capacity - this.end));
      this.keys = mx.concatenate([keys, ...histories.map((history, i) => place(history?.keys, lengths[i], keys))], 0);
      this.values = mx.concatenate([values, ...histories.map((history, i) => place(history?.values, lengths[i], values))], 0);
      this.settle();
    }
    this.lengths.push(...lengths);
  }

  /** Keeps the rows at these indexes, in this order; the others leave. */
  keep(rows: readonly number[]): void {
    if (rows.length === this.lengths.length && rows.every((row, i) => row === i)) {
      return;
    }
    const kept = rows.map((row) => this.lengths[row]);
    this.lengths.splice(0, this.lengths.length, ...kept);
    if (this.keys === undefined || this.values === undefined) {
      return;
    }
    if (rows.length === 0) {
      this.keys = this.values = undefined;
      this.end = 0;
      return;
    }
    const indexes = mx.array([...rows], mx.int32);
    // Slots before the longest remaining history are padding for every row: dropped once they add up.
    const unused = this.end - Math.max(...kept);
    const slots = unused >= KV_CACHE_STEP ? mx.arange(unused, this.capacity, 1, mx.int32) : undefined;
    const select = (buffer: mx.array): mx.array => {
      const taken = mx.take(buffer, indexes, 0);
      return slots === undefined ? taken : mx.take(taken, slots, SLOTS);
    };
    this.keys = select(this.keys);
    this.values = select(this.values);
    if (slots !== undefined) {
      this.end -= unused;
    }
    this.settle();
  }

  /**
   * Copies into the new buffers now: until then they hold on to the old ones as inputs, and once they
   * are copied only the old buffers' JS wrappers do, which the next garbage collection frees.
   */
  private settle(): void {
    mx.eval(this.keys as mx.array, this.values as mx.array);
  }

  /** A copy of one row's positions as a cache of its own (for the prompt cache, say). */
  extract(row: number): StandardKVCache {
    const length = this.lengths[row];
    if (length === 0 || this.keys === undefined || this.values === undefined) {
      return new StandardKVCache();
    }
    const which = mx.array([row], mx.int32);
    const slots = mx.arange(this.end - length, this.end, 1, mx.int32);
    const keys = mx.take(mx.take(this.keys, which, 0), slots, SLOTS);
    const values = mx.take(mx.take(this.values, which, 0), slots, SLOTS);
    // Copied now: left lazy, the copies would hold on to the shared buffers, and the next step's
    // in-place write would have to copy them whole.
    mx.eval(keys, values);
    return StandardKVCache.holding(keys, values);
  }

  /**
   * Writes the step's token of every row into the slot after their histories, and gives attention the
   * slots from the longest row's first to that one: the slots before are every row's padding, those
   * after are not written yet (up to KV_CACHE_STEP of them), and reading them made attention several
   * times the work of a short batch.
   */
  update(keys: mx.array, values: mx.array): BatchedAttentionContext {
    this.reserve(keys, values);
    const [bufKeys, bufValues] = [this.keys as mx.array, this.values as mx.array];
    const slot = mx.Slice(this.end, this.end + 1);
    bufKeys.indexPut_([all, all, slot, all], keys);
    bufValues.indexPut_([all, all, slot, all], values);
    const first = this.end - Math.max(...this.lengths);
    const window = mx.Slice(first, this.end + 1);
    const mask = this.mask(first, keys.dtype);
    this.end += 1;
    this.lengths.forEach((length, r) => (this.lengths[r] = length + 1));
    return { keys: bufKeys.index(all, all, window, all), values: bufValues.index(all, all, window, all), mask };
  }

  /** Room for one more slot, in steps of KV_CACHE_STEP. */
  private reserve(keys: mx.array, values: mx.array): void {
    if (this.keys !== undefined && this.values !== undefined && this.end + 1 <= this.capacity) {
      return;
    }
    const grow = (current: mx.array | undefined, step: mx.array): mx.array => {
      const [rows, heads, , dim] = step.shape;
      const extra = mx.zeros([rows, heads, KV_CACHE_STEP, dim], step.dtype);
      return current === undefined ? extra : mx.concatenate([current, extra], SLOTS);
    };
    this.keys = grow(this.keys, keys);
    this.values = grow(this.values, values);
  }

  /** [rows, 1, 1, slots first..end]: row r sees its own history and the slot being written, nothing else. */
  private mask(first: number, dtype: mx.Dtype): mx.array {
    const key = `${this.end}:${first}:${String(dtype)}:${this.lengths.join(',')}`;
    if (recentMask?.key === key) {
      return recentMask.mask;
    }
    const slots = mx.arange(first, this.end + 1, 1, mx.int32).reshape(1, 1, 1, this.end + 1 - first);
    const firsts = mx.array(
      this.lengths.map((length) => this.end - length),
      mx.int32,
    ).reshape(this.lengths.length, 1, 1, 1);
    const visible = mx.logicalAnd(mx.greaterEqual(slots, firsts), mx.lessEqual(slots, this.end));
    const mask = mx.where(visible, mx.array(0, dtype), mx.array(-Infinity, dtype));
    recentMask = { key, mask };
    return mask;
  }
}
