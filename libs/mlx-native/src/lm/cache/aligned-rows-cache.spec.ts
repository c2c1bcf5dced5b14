import { core as mx } from '@frost-beta/mlx';
import { AlignedRowsCache } from './aligned-rows-cache';
import { KV_CACHE_STEP, StandardKVCache } from './standard-kv-cache';

const HEADS = 2;
const DIM = 3;

/** Keys or values of `length` positions, distinct per row, position and channel (integers, exact in float32). */
function positions(row: number, start: number, length: number): number[][][][] {
  return [Array.from({ length: HEADS }, (_, h) => Array.from({ length }, (_, p) => Array.from({ length: DIM }, (_, d) => row * 10_000 + (start + p) * 10 + h * DIM + d)))];
}

/** A sequence's own cache holding `length` positions, and the same positions as plain arrays. */
function sequence(row: number, length: number): { cache: StandardKVCache; keys: number[][][][]; values: number[][][][] } {
  const cache = new StandardKVCache();
  const keys = positions(row, 0, length);
  const values = positions(row + 500, 0, length);
  if (length > 0) {
    cache.update(mx.array(keys, mx.float32), mx.array(values, mx.float32));
  }
  return { cache, keys, values };
}

/** Row r's visible slots, in order, read back through the mask: what attention of that row sees. */
function visible(buffer: number[][][][], mask: number[][][][], row: number): number[][][] {
  const slots = mask[row][0][0].flatMap((value, slot) => (value === 0 ? [slot] : []));
  return buffer[row].map((head) => slots.map((slot) => head[slot]));
}

/** An AlignedRowsCache and what each of its rows must see, with joins and steps that check it. */
function tracked() {
  const cache = new AlignedRowsCache();
  const expected: Array<{ keys: number[][][]; values: number[][][] }> = [];
  /** Rows of these history lengths join together. */
  const join = (...rows: Array<[row: number, length: number]>) => {
    const joining = rows.map(([row, length]) => sequence(row, length));
    cache.add(joining.map(({ cache: own }) => own));
    joining.forEach(({ keys, values }) => expected.push({ keys: keys[0], values: values[0] }));
  };
  const step = () => {
    const offsets = [...cache.offsets];
    const keys = offsets.map((offset, r) => positions(r * 7 + 1, offset, 1)[0]);
    const values = offsets.map((offset, r) => positions(r * 7 + 501, offset, 1)[0]);
    const context = cache.update(mx.array(keys, mx.float32), mx.array(values, mx.float32));
    const mask = context.mask.tolist() as number[][][][];
    const seenKeys = context.keys.tolist() as number[][][][];
    const seenValues = context.values.tolist() as number[][][][];
    offsets.forEach((offset, r) => {
      expected[r].keys.forEach((head, h) => head.push(keys[r][h][0]));
      expected[r].values.forEach((head, h) => head.push(values[r][h][0]));
      expect(cache.offsets[r]).toBe(offset + 1);
      expect(visible(seenKeys, mask, r)).toEqual(expected[r].keys);
      expect(visible(seenValues, mask, r)).toEqual(expected[r].values);
    });
  };
  return { cache, expected, join, step };
}

describe('AlignedRowsCache', () => {
  it('shows every row exactly its own history and new token, through joins, steps, leaves and a trim', () => {
    const { cache, expected, join, step } = tracked();
    join([0, 5]);
    step();
    join([1, 0]); // an empty prompt remainder (a one-token prompt)
    step();
    join([2, 9]); // longer than the rows so far: they move right
    step();
    step();
    // The long row leaves, then the others run on past a whole step of unused slots, which are dropped.
    cache.keep([0, 1]);
    expected.splice(2, 1);
    join([3, KV_CACHE_STEP + 20]);
    step();
    const threeRows = cache.nbytes;
    cache.keep([0, 1]);
    expected.splice(2, 1);
    // Two rows at the old capacity would take two thirds; the unused slots went too.
    expect(cache.nbytes).toBeLessThan((threeRows * 2) / 3);
    step();
    // A row copied out is an independent cache holding exactly its positions.
    const extracted = cache.extract(1);
    expect(extracted.offset).toBe(expected[1].keys[0].length);
    const stored = extracted.stored();
    expect((stored?.keys.tolist() as number[][][][])[0]).toEqual(expected[1].keys);
    expect((stored?.values.tolist() as number[][][][])[0]).toEqual(expected[1].values);
    cache.keep([]);
    expect(cache.nbytes).toBe(0);
    expect(cache.offsets).toEqual([]);
  });

  it('takes rows that join together in one copy, into an empty cache and beside running rows', () => {
    const { cache, expected, join, step } = tracked();
    join([0, 0], [1, 6], [2, 3]);
    step();
    // One longer than the running rows (they move right), one shorter, one empty.
    join([3, 12], [4, 2], [5, 0]);
    expect(cache.offsets).toEqual([1, 7, 4, 12, 2, 0]);
    step();
    step();
    expect(expected.map(({ keys }) => keys[0].length)).toEqual([3, 9, 6, 14, 4, 2]);
  });
});
