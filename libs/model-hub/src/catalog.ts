import { ModelNotFoundError } from './errors';
import { cacheFingerprint, listModels, resolveModel, type ModelHubOptions } from './hub-cache';
import type { ResolvedModel } from './model-dir';
import { parseModelId } from './model-id';

export interface ModelCatalogOptions extends ModelHubOptions {
  /**
   * A listing is trusted only once the newest change it saw is this old. File systems stamp
   * mtimes from a coarse clock (Linux: a few ms; HFS+ and FAT: 1-2 s), so a file added in the same
   * tick as the scan would leave every mtime as it was; git treats "racily clean" index entries the
   * same way. Default 2000.
   */
  settleMs?: number;
}

type Scan = (options: ModelHubOptions) => Promise<ResolvedModel[]>;

interface Listing {
  key: string;
  models: Promise<readonly ResolvedModel[]>;
  /** Whether the newest change the fingerprint saw was old enough to trust the key (see settleMs). */
  settled: boolean;
  inFlight: boolean;
}

/**
 * The servable models, cached: a listing is reused while the cache's fingerprint (folder mtimes,
 * a few stats per model) is unchanged, so GET /v1/models does not walk gigabytes of snapshots per
 * request. Concurrent callers share one scan.
 */
export class ModelCatalog {
  /** The latest scan started; set when it starts, so a slower older scan can never overwrite it. */
  private listing: Listing | undefined;
  private readonly settleMs: number;

  /** `scan` is listModels; tests pass a wrapper to count scans. */
  constructor(
    private readonly options: ModelCatalogOptions,
    private readonly scan: Scan = listModels,
  ) {
    this.settleMs = options.settleMs ?? 2000;
  }

  /** The servable models, sorted by id; rescans only when the cache changed since the last scan. */
  async list(): Promise<readonly ResolvedModel[]> {
    const takenAt = Date.now();
    const { key, newestChangeMs } = await cacheFingerprint(this.options);
    const current = this.listing;
    if (current !== undefined && current.key === key && (current.settled || current.inFlight)) {
      return current.models;
    }
    const listing: Listing = { key, models: this.scan(this.options), settled: newestChangeMs < takenAt - this.settleMs, inFlight: true };
    this.listing = listing;
    try {
      return await listing.models;
    } catch (error) {
      // A failed scan (a permission error, say) is not kept: the next call tries again.
      if (this.listing === listing) {
        this.listing = undefined;
      }
      throw error;
    } finally {
      listing.inFlight = false;
    }
  }

  /**
   * The model an id names, if it can be served. Plain repo ids come from the cached listing; path
   * and `@revision` ids are not listed, so they are looked up on disk each time (one model's
   * files, cheap). Throws ModelNotFoundError, or InvalidModelIdError for a malformed id.
   */
  async resolve(id: string): Promise<ResolvedModel> {
    const parsed = parseModelId(id);
    const model =
      parsed.kind === 'repo' && parsed.revision === undefined
        ? (await this.list()).find((candidate) => candidate.id === id)
        : await resolveModel(id, this.options);
    if (model === undefined || model.kind === 'unknown') {
      throw new ModelNotFoundError(id);
    }
    return model;
  }

  /** Forgets the listing, for changes the fingerprint cannot see (a config.json edited in place) and after deleteModel. */
  invalidate(): void {
    this.listing = undefined;
  }
}
