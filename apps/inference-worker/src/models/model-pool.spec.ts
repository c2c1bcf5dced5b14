import { IpcHandlerError } from '@mlx-omni/ipc';
import { ModelPool, type EvictionReason } from './model-pool';

/**
 * Models are their folder names; a folder's "size" is the number in its name. With `cacheBytes`, each
 * loaded model also holds a cache of that many bytes, which the pool may release.
 */
function makePool({ budgetBytes = 100, idleTtlMs = 0, cacheBytes = 0 } = {}) {
  const loads: string[] = [];
  const evicted: Array<[string, EvictionReason]> = [];
  const released: string[] = [];
  const caches = new Map<string, number>();
  const pending = new Map<string, () => void>();
  const pool = new ModelPool<string>({
    budgetBytes,
    idleTtlMs,
    ...(cacheBytes > 0 && {
      runtimeBytesOf: (model: string) => caches.get(model) ?? cacheBytes,
      caches: {
        bytesOf: (model: string) => caches.get(model) ?? cacheBytes,
        release: (model: string) => {
          released.push(model);
          caches.set(model, 0);
        },
      },
    }),
    sizeOf: async (path) => Number(/\d+/.exec(path)![0]),
    load: async (id, path) => {
      loads.push(path);
      if (path.includes('slow')) {
        await new Promise<void>((resolve) => pending.set(path, resolve));
      }
      if (path.includes('broken')) {
        throw new Error('bad weights');
      }
      return `weights of ${path}`;
    },
    onEvict: (id, reason) => evicted.push([id, reason]),
  });
  return { pool, loads, evicted, released, finishLoad: (path: string) => pending.get(path)!() };
}

const ids = (pool: ModelPool<string>) => pool.loaded().map((model) => model.id).sort();
const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => (error as IpcHandlerError).payload);

describe('ModelPool', () => {
  it('shares one load between concurrent requests for a model', async () => {
    const { pool, loads, finishLoad } = makePool();
    const first = pool.use('a', '/slow-40', async (model) => model);
    const second = pool.use('a', '/slow-40', async (model) => model);
    await new Promise((resolve) => setImmediate(resolve));
    finishLoad('/slow-40');

    expect(await Promise.all([first, second])).toEqual(['weights of /slow-40', 'weights of /slow-40']);
    expect(loads).toEqual(['/slow-40']);
    expect(pool.status()).toEqual({ budgetBytes: 100, usedBytes: 40, evictions: { lru: 0, ttl: 0, admin: 0 } });
  });

  it('evicts the least recently used idle model to make room, never a pinned one', async () => {
    const { pool, evicted } = makePool();
    await pool.load('pinned', '/p-30', { pin: true });
    await pool.use('old', '/old-30', async () => undefined);
    await pool.use('recent', '/recent-30', async () => undefined);

    await pool.use('new', '/new-40', async () => undefined);

    expect(evicted).toEqual([['old', 'lru']]);
    expect(ids(pool)).toEqual(['new', 'pinned', 'recent']);
    expect(pool.status()).toMatchObject({ usedBytes: 100, evictions: { lru: 1 } });
  });

  it('answers 503 at once, evicting nothing, when busy models leave no room; and refuses a model larger than the budget', async () => {
    const { pool, evicted } = makePool();
    let release!: () => void;
    const busy = pool.use('busy', '/busy-70', () => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setImmediate(resolve));
    await pool.use('idle', '/idle-20', async () => undefined);

    expect(await failure(pool.use('big', '/big-40', async () => undefined))).toMatchObject({ status: 503, code: 'model_pool_full' });
    expect(await failure(pool.use('huge', '/huge-101', async () => undefined))).toMatchObject({ status: 503, code: 'model_exceeds_memory_budget' });
    expect(evicted).toEqual([]);

    release();
    await busy;
    await pool.use('big', '/big-40', async () => undefined);
    expect(evicted).toEqual([['idle', 'lru'], ['busy', 'lru']]);
  });

  it('releases prompt caches, least recently used model first and busy models too, before it unloads a model', async () => {
    const { pool, evicted, released } = makePool({ cacheBytes: 20 });
    await pool.use('old', '/old-30', async () => undefined);
    let finish!: () => void;
    const busy = pool.use('busy', '/busy-30', () => new Promise<void>((resolve) => (finish = resolve)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(pool.status().usedBytes).toBe(100);

    // The least recently used model's cache makes room; no model is unloaded for it.
    await pool.use('new', '/new-20', async () => undefined);
    expect(released).toEqual(['weights of /old-30']);
    expect(evicted).toEqual([]);

    // 120 in use with the new model's cache: releasing every cache (the busy model's too) leaves 80, so one idle model still goes.
    await pool.use('more', '/more-30', async () => undefined);
    expect(released).toEqual(['weights of /old-30', 'weights of /busy-30', 'weights of /new-20']);
    expect(evicted).toEqual([['old', 'lru']]);

    // When even that cannot make room beside the busy model, the 503 comes with nothing released or unloaded.
    const releasedBefore = [...released];
    expect(await failure(pool.use('big', '/big-80', async () => undefined))).toMatchObject({ status: 503, code: 'model_pool_full' });
    expect(released).toEqual(releasedBefore);
    expect(evicted).toEqual([['old', 'lru']]);
    finish();
    await busy;
  });

  it('unloads a model idle for the TTL, but not one in use or pinned', async () => {
    const { pool, evicted } = makePool({ idleTtlMs: 50 });
    await pool.load('pinned', '/p-10', { pin: true });
    await pool.use('idle', '/idle-10', async () => undefined);
    let release!: () => void;
    const running = pool.use('running', '/running-10', () => new Promise<void>((resolve) => (release = resolve)));

    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(evicted).toEqual([['idle', 'ttl']]);
    expect(ids(pool)).toEqual(['pinned', 'running']);

    release();
    await running;
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(ids(pool)).toEqual(['pinned']);
    pool.close();
  });

  it('unloads on request, refusing a model in use with 409, and forgets a failed load', async () => {
    const { pool, loads } = makePool();
    let release!: () => void;
    const running = pool.use('a', '/a-10', () => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setImmediate(resolve));

    expect(() => pool.unload('a')).toThrow(IpcHandlerError);
    expect(() => pool.unload('a')).toThrow('in use');
    release();
    await running;
    expect(pool.unload('a')).toBe(true);
    expect(pool.unload('a')).toBe(false);
    expect(pool.status()).toMatchObject({ usedBytes: 0, evictions: { admin: 1 } });

    await expect(pool.use('b', '/broken-10', async () => undefined)).rejects.toThrow('bad weights');
    await expect(pool.use('b', '/broken-10', async () => undefined)).rejects.toThrow('bad weights');
    expect(loads.filter((path) => path === '/broken-10')).toHaveLength(2);
    expect(pool.status().usedBytes).toBe(0);
  });
});
