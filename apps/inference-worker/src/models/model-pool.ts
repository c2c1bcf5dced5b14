import { IpcHandlerError, type BatchStatus, type LoadedModelInfo, type ModelPoolStatus } from '@mlx-omni/ipc';

export type EvictionReason = keyof ModelPoolStatus['evictions'];

export interface ModelPoolOptions<T> {
  /** Bytes the loaded models may take together. */
  budgetBytes: number;
  /** An unused model is unloaded after this long; 0 keeps it until its memory is needed. */
  idleTtlMs: number;
  /** Loads a model's weights and tokenizer from its folder. */
  load(id: string, path: string): Promise<T>;
  /** What a model will take in memory, known before it loads (its weight files' size). */
  sizeOf(path: string): Promise<number>;
  /** What a loaded model holds beyond its weights now (KV caches), counted in the budget with them. */
  runtimeBytesOf?(model: T): number;
  /**
   * What a loaded model keeps only to answer faster (a prompt cache; part of its runtime bytes), which
   * it can drop in use or not. The pool drops caches before it unloads any model, since recomputing a
   * prefix costs less than reloading weights, and only when that and unloading idle models make room.
   */
  caches?: ModelCaches<T>;
  /** A loaded chat model's batch, for status. */
  batchOf?(model: T): BatchStatus | undefined;
  onEvict?(id: string, reason: EvictionReason): void;
}

/** A loaded model's droppable caches: how many bytes they hold now, and dropping them all. */
export interface ModelCaches<T> {
  bytesOf(model: T): number;
  release(model: T): void;
}

interface Entry<T> {
  id: string;
  path: string;
  sizeBytes: number;
  pinned: boolean;
  /** Resolves once loaded; the entry holds its share of the budget from the moment the load starts. */
  ready: Promise<T>;
  model: T | undefined;
  loadedAt: Date | undefined;
  loadSeconds: number | undefined;
  /** Requests using the model now; only a model with none may be evicted. */
  users: number;
  lastUsedAt: number;
  /** Orders entries by last use; milliseconds would tie for uses in the same tick. */
  recency: number;
  idleTimer: NodeJS.Timeout | undefined;
}

const busy = (message: string, code: string, status: number) => new IpcHandlerError({ message, code, status, param: 'model' });

/**
 * The models one worker holds, within a memory budget. A model loads on first use and concurrent
 * requests for it share the load. To make room, idle models are unloaded least recently used
 * first; pinned ones never are. When the idle models cannot free enough, the request fails with
 * 503 at once rather than waiting behind the busy ones for an unknown time.
 */
export class ModelPool<T> {
  /** Keyed by folder: one id may name a new snapshot after a pull, and that is another model. */
  private readonly entries = new Map<string, Entry<T>>();
  private readonly evictions: Record<EvictionReason, number> = { lru: 0, ttl: 0, admin: 0 };
  private uses = 0;

  constructor(private readonly options: ModelPoolOptions<T>) {}

  /** Runs `work` with the model loaded, loading it (and evicting others) first when needed. */
  async use<R>(id: string, path: string, work: (model: T) => Promise<R>, { pin = false } = {}): Promise<R> {
    const entry = await this.enter(id, path, pin);
    try {
      return await work(await entry.ready);
    } finally {
      this.leave(entry);
    }
  }

  /** Loads a model ahead of use (preload list, admin route); `pin` keeps it loaded for good. */
  async load(id: string, path: string, { pin = false } = {}): Promise<LoadedModelInfo> {
    return this.use(id, path, async () => this.describe(this.entries.get(path)!), { pin });
  }

  /**
   * Unloads the model an id or folder names. Refuses one that requests are using (409), so a
   * running generation never loses its weights. False when it was not loaded.
   */
  unload(idOrPath: string): boolean {
    const matching = [...this.entries.values()].filter((entry) => entry.id === idOrPath || entry.path === idOrPath);
    if (matching.some((entry) => entry.users > 0 || entry.model === undefined)) {
      throw busy(`Model ${idOrPath} is in use; unload it once its requests finish`, 'model_in_use', 409);
    }
    for (const entry of matching) {
      this.evict(entry, 'admin');
    }
    return matching.length > 0;
  }

  status(): ModelPoolStatus {
    return { budgetBytes: this.options.budgetBytes, usedBytes: this.usedBytes(), evictions: { ...this.evictions } };
  }

  /** Models whose load has finished. */
  loaded(): LoadedModelInfo[] {
    return [...this.entries.values()].filter((entry) => entry.model !== undefined).map((entry) => this.describe(entry));
  }

  /** Stops the idle timers, so a stopping worker does not wait for them. */
  close(): void {
    for (const entry of this.entries.values()) {
      clearTimeout(entry.idleTimer);
    }
  }

  private async enter(id: string, path: string, pin: boolean): Promise<Entry<T>> {
    let entry = this.entries.get(path);
    if (entry === undefined) {
      const sizeBytes = await this.options.sizeOf(path);
      // Another request may have started the same load while the size was read.
      entry = this.entries.get(path) ?? this.reserve(id, path, sizeBytes);
    }
    entry.pinned ||= pin;
    entry.users += 1;
    clearTimeout(entry.idleTimer);
    this.touch(entry);
    return entry;
  }

  /** Makes room and claims it synchronously, so two loads can never both count the same free bytes. */
  private reserve(id: string, path: string, sizeBytes: number): Entry<T> {
    const { budgetBytes } = this.options;
    if (sizeBytes > budgetBytes) {
      throw busy(
        `Model ${id} needs ${sizeBytes} bytes, more than the model memory budget of ${budgetBytes} (MLX_OMNI_MEMORY_BUDGET_BYTES)`,
        'model_exceeds_memory_budget',
        503,
      );
    }
    const idle = [...this.entries.values()].filter((entry) => this.evictable(entry)).sort((a, b) => a.recency - b.recency);
    const busyCaches = [...this.entries.values()].filter((entry) => !idle.includes(entry)).reduce((sum, entry) => sum + this.cacheBytes(entry), 0);
    const freeable = idle.reduce((sum, entry) => sum + this.footprint(entry), 0) + busyCaches;
    if (this.usedBytes() - freeable + sizeBytes > budgetBytes) {
      throw busy(`Model ${id} does not fit in memory while the loaded models are busy; retry shortly`, 'model_pool_full', 503);
    }
    this.releaseCachesFor(sizeBytes);
    for (const victim of idle) {
      if (this.usedBytes() + sizeBytes <= budgetBytes) {
        break;
      }
      this.evict(victim, 'lru');
    }
    const started = performance.now();
    const entry: Entry<T> = {
      id,
      path,
      sizeBytes,
      pinned: false,
      ready: this.options.load(id, path),
      model: undefined,
      loadedAt: undefined,
      loadSeconds: undefined,
      users: 0,
      lastUsedAt: Date.now(),
      recency: 0,
      idleTimer: undefined,
    };
    this.entries.set(path, entry);
    entry.ready.then(
      (model) => {
        entry.model = model;
        entry.loadedAt = new Date();
        entry.loadSeconds = (performance.now() - started) / 1000;
      },
      // A failed load is not kept and frees its reservation: the next request tries again (the files may have been fixed).
      () => this.entries.get(path) === entry && this.entries.delete(path),
    );
    return entry;
  }

  /** Releases loaded models' caches, least recently used model first, until `sizeBytes` more fit in the budget. */
  private releaseCachesFor(sizeBytes: number): void {
    const holding = [...this.entries.values()].filter((entry) => this.cacheBytes(entry) > 0).sort((a, b) => a.recency - b.recency);
    for (const entry of holding) {
      if (this.usedBytes() + sizeBytes <= this.options.budgetBytes) {
        return;
      }
      this.options.caches?.release(entry.model as T);
    }
  }

  private cacheBytes(entry: Entry<T>): number {
    return entry.model === undefined ? 0 : (this.options.caches?.bytesOf(entry.model) ?? 0);
  }

  private leave(entry: Entry<T>): void {
    entry.users -= 1;
    this.touch(entry);
    const ttl = this.options.idleTtlMs;
    if (entry.users === 0 && !entry.pinned && ttl > 0 && this.entries.get(entry.path) === entry) {
      entry.idleTimer = setTimeout(() => this.evictable(entry) && this.evict(entry, 'ttl'), ttl);
      entry.idleTimer.unref();
    }
  }

  private touch(entry: Entry<T>): void {
    entry.lastUsedAt = Date.now();
    entry.recency = ++this.uses;
  }

  private evictable(entry: Entry<T>): boolean {
    return entry.users === 0 && !entry.pinned && entry.model !== undefined && this.entries.get(entry.path) === entry;
  }

  /** Forgets the model; its native arrays are freed when the garbage collector finalizes them. */
  private evict(entry: Entry<T>, reason: EvictionReason): void {
    clearTimeout(entry.idleTimer);
    this.entries.delete(entry.path);
    this.evictions[reason] += 1;
    this.options.onEvict?.(entry.id, reason);
  }

  private usedBytes(): number {
    let total = 0;
    for (const entry of this.entries.values()) {
      total += this.footprint(entry);
    }
    return total;
  }

  private footprint(entry: Entry<T>): number {
    return entry.sizeBytes + (entry.model === undefined ? 0 : (this.options.runtimeBytesOf?.(entry.model) ?? 0));
  }

  private describe(entry: Entry<T>): LoadedModelInfo {
    return {
      id: entry.id,
      path: entry.path,
      loadedAt: (entry.loadedAt ?? new Date()).toISOString(),
      sizeBytes: entry.sizeBytes,
      loadSeconds: entry.loadSeconds ?? 0,
      pinned: entry.pinned,
      activeRequests: entry.users,
      lastUsedAt: new Date(entry.lastUsedAt).toISOString(),
      ...(entry.model === undefined ? {} : { batch: this.options.batchOf?.(entry.model) }),
    };
  }
}
