import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { IpcHandlerError, type BatchStatus, type LoadedModelInfo, type ModelPoolStatus } from '@mlx-omni/ipc';
import { BatchEngine, FairStepScheduler, familyLoader, ModelIncompleteError, PromptCache, ModelLoadError, TokenizerLoadError, UnsupportedFamilyError, type FamilyLoader, type FamilyLoadOptions, type LoadedModel, type LoadedModels } from '@mlx-omni/mlx-native';
import { supportedFamilies, type ModelKind } from '@mlx-omni/model-families';
import { companionFolders, describeModelAt, ModelCatalog } from '@mlx-omni/model-hub';
import { ModelPool } from './model-pool';

/** A loaded model of one kind, with the id and folder it was loaded under; a chat model with the engine that batches its sequences. */
export type Pooled<K extends keyof LoadedModels = keyof LoadedModels> = K extends 'chat'
  ? LoadedModels[K] & PoolEntryFacts & { engine: BatchEngine }
  : LoadedModels[K] & PoolEntryFacts;

interface PoolEntryFacts {
  id: string;
  path: string;
  family: string;
}
export type PooledChatModel = Pooled<'chat'>;

/** KV caches of the running sequences and the prompt cache: memory the model's weights do not account for. */
function engineBytes(engine: BatchEngine): number {
  const { kvBytes, promptCacheBytes } = engine.stats;
  return kvBytes + promptCacheBytes;
}

const notSupported = (message: string) => new IpcHandlerError({ message, code: 'model_not_supported', status: 400, param: 'model' });

/**
 * Why a listed model cannot load, as the 400 the caller can act on, never a 500: companion files
 * missing (pull them: `model_incomplete`), or a packaging the engine does not run (a sentence-
 * transformers module, a classifier with several labels) or files that do not match their config
 * (`model_not_supported`, naming the reason). Anything else is a server fault and propagates.
 */
async function loadFailuresAsBadRequests<T>(model: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof ModelIncompleteError) {
      throw new IpcHandlerError({ message: error.message, code: 'model_incomplete', status: 400, param: 'model' });
    }
    if (error instanceof ModelLoadError || error instanceof TokenizerLoadError) {
      throw notSupported(`The model ${model} cannot be loaded: ${error.message}`);
    }
    throw error;
  }
}

/**
 * The models of every kind this worker holds, within one memory budget (see ModelPool), loaded through
 * the engine's family table. The preload list is loaded and pinned at start.
 */
@Injectable()
export class ModelPoolService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ModelPoolService.name);
  private readonly pool: ModelPool<Pooled>;

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly scheduler: FairStepScheduler,
  ) {
    this.pool = new ModelPool<Pooled>({
      budgetBytes: config.memoryBudgetBytes,
      idleTtlMs: config.modelIdleTtlS * 1000,
      sizeOf: async (path) => {
        const { loader, options } = await this.familyAt(path);
        return loadFailuresAsBadRequests(path, () => loader.weightBytes(path, options));
      },
      load: (id, path) => this.loadModel(id, path),
      runtimeBytesOf: (model) => (model.kind === 'chat' ? engineBytes(model.engine) : 0),
      caches: {
        bytesOf: (model) => (model.kind === 'chat' ? model.engine.stats.promptCacheBytes : 0),
        release: (model) => {
          if (model.kind === 'chat' && model.engine.releasePromptCache() > 0) {
            this.logger.log({ model: model.id }, 'Prompt cache released to make room for another model');
          }
        },
      },
      batchOf: (model) => (model.kind === 'chat' ? this.batchStatus(model.engine) : undefined),
      onEvict: (id, reason) => this.logger.log({ model: id, reason }, 'Model unloaded'),
    });
  }

  /**
   * Runs `work` with the model loaded; 400 `model_not_supported` when it is not of `kind` or its family
   * is not one the engine runs, 503 when it cannot fit while the loaded models are busy.
   */
  use<K extends keyof LoadedModels, R>(kind: K, id: string, path: string, work: (model: Pooled<K>) => Promise<R>): Promise<R> {
    return this.pool.use(id, path, async (model) => {
      if (model.kind !== kind) {
        throw notSupported(`The model ${id} is of kind ${model.kind} and cannot serve ${kind} requests`);
      }
      // Checked just above; TypeScript cannot narrow a union by a generic key.
      return work(model as unknown as Pooled<K>);
    });
  }

  load(id: string, path: string): Promise<LoadedModelInfo> {
    return this.pool.load(id, path);
  }

  unload(id: string): boolean {
    return this.pool.unload(id);
  }

  /** Not awaited: the worker answers on its socket while the preload list loads. */
  onApplicationBootstrap(): void {
    void this.preload();
  }

  onApplicationShutdown(): void {
    this.pool.close();
  }

  loaded(): LoadedModelInfo[] {
    return this.pool.loaded();
  }

  status(): ModelPoolStatus {
    return this.pool.status();
  }

  private batchStatus(engine: BatchEngine): BatchStatus {
    const { promptCache } = engine.options;
    return {
      ...engine.stats,
      maxRows: engine.maxRows,
      kvLimitBytes: Number.isFinite(engine.maxKvBytes) ? engine.maxKvBytes : null,
      promptCacheLimitBytes: promptCache?.maxBytes ?? 0,
      prefixCacheQueries: promptCache?.queries ?? 0,
      prefixCacheQueriedTokens: promptCache?.queriedTokens ?? 0,
      prefixCacheHitTokens: promptCache?.hitTokens ?? 0,
      stepsByBatchSize: Array.from(engine.stepsByBatchSize, (steps) => steps ?? 0),
    };
  }

  private async preload(): Promise<void> {
    const catalog = new ModelCatalog({ hubCache: this.config.hfHubCache, extraDirs: this.config.modelDirs });
    for (const id of this.config.preloadModels) {
      try {
        const model = await catalog.resolve(id);
        await this.pool.load(id, model.path, { pin: true });
      } catch (error) {
        // One missing or oversized model must not stop the worker serving the others.
        this.logger.error({ model: id, err: error }, 'Could not preload a model of MLX_OMNI_PRELOAD_MODELS');
      }
    }
  }

  /**
   * The folder's family (model-families' table), the engine's loader for it, and its load options: the
   * weights mode, the memory budget (FLUX leaves T5 out of memory when only the rest fits) and the cached
   * folders of the repos it takes files from. 400 when the engine runs no such family.
   */
  private async familyAt(path: string): Promise<{ family: string; loader: FamilyLoader; options: FamilyLoadOptions }> {
    const described = await describeModelAt(path, { hubCache: this.config.hfHubCache, extraDirs: this.config.modelDirs });
    const family = described?.family;
    if (described === undefined || family === undefined || described.kind === 'unknown') {
      throw notSupported(`${path} holds no complete model of a known family`);
    }
    const options = { weights: this.config.quantizedWeights, memoryBudgetBytes: this.config.memoryBudgetBytes, companions: companionFolders(described) };
    try {
      return { family, loader: familyLoader(family), options };
    } catch (error) {
      if (error instanceof UnsupportedFamilyError) {
        const kind = described.kind as ModelKind;
        throw notSupported(
          `The ${family} architecture is not supported by this server; supported ${kind} families: ${supportedFamilies(kind).join(', ') || 'none yet'}`,
        );
      }
      throw error;
    }
  }

  private async loadModel(id: string, path: string): Promise<Pooled> {
    const started = performance.now();
    const { family, loader, options } = await this.familyAt(path);
    const model: LoadedModel = await loadFailuresAsBadRequests(id, () => loader.load(path, options));
    this.logger.log({ model: id, path, family, kind: model.kind, seconds: (performance.now() - started) / 1000 }, 'Model loaded');
    if (model.kind !== 'chat') {
      return { ...model, id, path, family } as Pooled;
    }
    const { batchMaxRows, kvCacheBytes, promptCacheBytes, promptCacheShared } = this.config;
    const engine = new BatchEngine(model.lm.model, {
      maxRows: batchMaxRows,
      maxKvBytes: kvCacheBytes,
      promptCache: promptCacheBytes > 0 ? new PromptCache(promptCacheBytes) : undefined,
      sharePromptCache: promptCacheShared,
      // The batch's steps take turns with the worker's other device work (embeddings, speech, images).
      gate: this.scheduler.lane(`chat-engine:${path}`),
    });
    return { ...model, id, path, family, engine };
  }
}
