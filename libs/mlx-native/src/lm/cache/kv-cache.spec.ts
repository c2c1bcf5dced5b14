import { core as mx } from '@frost-beta/mlx';
import type { KVCache } from '../../nn/kv-cache';
import { RotatingKVCache } from './rotating-kv-cache';
import { KV_CACHE_STEP, StandardKVCache } from './standard-kv-cache';

const HEADS = 2;
const DIM = 8;
const all = mx.Slice();

/** Softmax attention written out, with the window mask built independently of the cache code. */
function referenceAttention(q: mx.array, k: mx.array, v: mx.array, window?: number): mx.array {
  const length = q.shape[2];
  const rows: number[][] = [];
  for (let i = 0; i < length; i++) {
    rows.push(Array.from({ length }, (_, j) => (j <= i && (window === undefined || j > i - window) ? 0 : -Infinity)));
  }
  const scores = mx.add(mx.multiply(mx.matmul(q, k.transpose(0, 1, 3, 2)), 1 / Math.sqrt(DIM)), mx.array(rows));
  return mx.matmul(mx.softmax(scores, -1), v);
}

/** Feeds q/k/v through `cache` in chunks and attends with whatever the cache returns. */
function attendInChunks(cache: KVCache, q: mx.array, k: mx.array, v: mx.array, chunks: number[]): mx.array {
  const outputs: mx.array[] = [];
  let start = 0;
  for (const size of chunks) {
    const part = (t: mx.array) => t.index(all, all, mx.Slice(start, start + size), all);
    const context = cache.update(part(k), part(v));
    const args = [part(q), context.keys, context.values, 1 / Math.sqrt(DIM)] as const;
    outputs.push(context.mask ? mx.fast.scaledDotProductAttention(...args, context.mask) : mx.fast.scaledDotProductAttention(...args));
    start += size;
  }
  return mx.concatenate(outputs, 2);
}

function randomQkv(length: number, seed: number): [mx.array, mx.array, mx.array] {
  const keys = mx.random.split(mx.random.key(seed), 3);
  const draw = (i: number) => mx.random.normal([1, HEADS, length, DIM], mx.float32, 0, 1, keys.index(i));
  return [draw(0), draw(1), draw(2)];
}

function maxAbsDiff(a: mx.array, b: mx.array): number {
  return mx.abs(mx.subtract(a, b)).max().item() as number;
}

describe('StandardKVCache', () => {
  it.each([
    ['one-shot', [40]],
    ['prefix then single tokens', [10, 1, 1, 1, 1, 1]],
    ['uneven chunks', [7, 13, 1, 19]],
  ])('matches causal attention over the whole sequence: %s', (_, chunks) => {
    const length = chunks.reduce((a, b) => a + b, 0);
    const [q, k, v] = randomQkv(length, 1);
    const cache = new StandardKVCache();
    const diff = maxAbsDiff(attendInChunks(cache, q, k, v, chunks), referenceAttention(q, k, v));
    console.log(`standard cache ${chunks.join('+')}: max abs diff ${diff}`);
    expect(diff).toBeLessThan(1e-5);
    expect(cache.offset).toBe(length);
  });

  it('attends a chunk of several tokens to the written slots only, a single token to the whole buffer', () => {
    const [, k, v] = randomQkv(12, 5);
    const cache = new StandardKVCache();
    const chunk = cache.update(k.index(all, all, mx.Slice(0, 11), all), v.index(all, all, mx.Slice(0, 11), all));
    expect(chunk.keys.shape[2]).toBe(11);
    expect(chunk.values.shape[2]).toBe(11);
    expect(chunk.mask?.shape).toEqual([11, 11]);
    const token = cache.update(k.index(all, all, mx.Slice(11, 12), all), v.index(all, all, mx.Slice(11, 12), all));
    expect(token.keys.shape[2]).toBe(KV_CACHE_STEP);
    expect(token.mask?.shape).toEqual([1, KV_CACHE_STEP]);
  });

  it('grows past its preallocation step and keeps earlier keys', () => {
    const length = KV_CACHE_STEP + 9;
    const [q, k, v] = randomQkv(length, 2);
    const chunks = [KV_CACHE_STEP - 3, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    const diff = maxAbsDiff(attendInChunks(new StandardKVCache(), q, k, v, chunks), referenceAttention(q, k, v));
    expect(diff).toBeLessThan(1e-5);
  });
});

describe('RotatingKVCache', () => {
  const window = 6;
  it.each([
    ['one chunk longer than the window', [20]],
    ['single tokens wrapping the ring several times', [2, ...Array<number>(18).fill(1)]],
    ['a chunk after the ring has wrapped', [3, 1, 1, 1, 1, 1, 1, 1, 5, 1, 1, 4]],
    ['chunks smaller and larger than the window', [4, 9, 1, 2, 7]],
  ])('matches full attention with a sliding-window mask: %s', (_, chunks) => {
    const length = chunks.reduce((a, b) => a + b, 0);
    const [q, k, v] = randomQkv(length, 3);
    const cache = new RotatingKVCache(window);
    const diff = maxAbsDiff(attendInChunks(cache, q, k, v, chunks), referenceAttention(q, k, v, window));
    console.log(`rotating cache (window ${window}) ${chunks.join('+')}: max abs diff ${diff}`);
    expect(diff).toBeLessThan(1e-5);
    expect(cache.offset).toBe(length);
  });

  it('stores no more than the window', () => {
    const cache = new RotatingKVCache(window);
    const [, k, v] = randomQkv(30, 4);
    for (let i = 0; i < 30; i++) {
      const step = cache.update(k.index(all, all, mx.Slice(i, i + 1), all), v.index(all, all, mx.Slice(i, i + 1), all));
      expect(step.keys.shape[2]).toBeLessThanOrEqual(window);
    }
  });

  it('rejects a window that is not a positive integer', () => {
    expect(() => new RotatingKVCache(0)).toThrow(RangeError);
  });
});
