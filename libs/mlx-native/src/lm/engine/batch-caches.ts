import { cacheBytes, RowCaches, type ForkableKVCache, type LayerCache } from '../../nn/kv-cache';
import { AlignedRowsCache, StandardKVCache } from '../cache';

/**
 * The decoding rows' caches, layer by layer: each full-attention layer in one {@link AlignedRowsCache}
 * for all rows (one update and one attention per step), other layers (sliding windows) as each row's
 * own cache. Rows are numbered in the batch's order: the order they joined, less those that left.
 */
export class BatchCaches {
  /** Per layer: the rows' shared cache, or undefined where each row keeps its own. */
  private shared: Array<AlignedRowsCache | undefined> | undefined;
  /** Per row and layer: the row's own cache, where the layer is not shared. */
  private readonly own: Array<Array<ForkableKVCache | undefined>> = [];

  get rows(): number {
    return this.own.length;
  }

  get nbytes(): number {
    const shared = (this.shared ?? []).reduce((sum, cache) => sum + (cache?.nbytes ?? 0), 0);
    return shared + this.own.reduce((sum, caches) => sum + cacheBytes(caches.filter((cache) => cache !== undefined)), 0);
  }

  /** Rows join, each with a sequence's caches (one per layer); shared layers copy them in, all rows at once. */
  join(rows: ReadonlyArray<readonly ForkableKVCache[]>): void {
    if (rows.length === 0) {
      return;
    }
    const shared = (this.shared ??= rows[0].map((cache) => (cache instanceof StandardKVCache ? new AlignedRowsCache() : undefined)));
    shared.forEach((sharedCache, layer) => sharedCache?.add(rows.map((caches) => caches[layer] as StandardKVCache)));
    for (const caches of rows) {
      this.own.push(caches.map((cache, layer) => (shared[layer] === undefined ? cache : undefined)));
    }
  }

  /** The caches a forward pass over the batch appends to, one per layer. */
  layers(): LayerCache[] {
    return (this.shared ?? []).map((sharedCache, layer) => sharedCache ?? new RowCaches(this.own.map((caches) => caches[layer] as ForkableKVCache)));
  }

  /** Row `row`'s caches as a sequence of its own: copies of the shared layers, its own caches of the rest. */
  extract(row: number): ForkableKVCache[] {
    return (this.shared ?? []).map((sharedCache, layer) => sharedCache?.extract(row) ?? (this.own[row][layer] as ForkableKVCache));
  }

  /** Keeps the rows at these indexes, in this order; the others leave. */
  keep(rows: readonly number[]): void {
    this.shared?.forEach((sharedCache) => sharedCache?.keep(rows));
    this.own.splice(0, this.own.length, ...rows.map((row) => this.own[row]));
  }
}
