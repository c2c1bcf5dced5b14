import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type { LoadedModelInfo, ModelPoolStatus } from '@mlx-omni/ipc';
import { loadLanguageModel, ModelTokenizer, type LoadedLanguageModel } from '@mlx-omni/mlx-native';
import { ModelCatalog } from '@mlx-omni/model-hub';
import { ModelPool } from './model-pool';

/** A chat model ready to generate: weights, tokenizer and the facts generation needs. */
export interface PooledChatModel {
  id: string;
  path: string;
  weights: LoadedLanguageModel;
  tokenizer: ModelTokenizer;
}

async function weightBytes(dir: string): Promise<number> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.safetensors'));
  const sizes = await Promise.all(names.map(async (name) => (await stat(join(dir, name))).size));
  return sizes.reduce((total, size) => total + size, 0);
}

/**
 * The chat models this worker holds, within the memory budget (see ModelPool). The preload list is
 * loaded and pinned at start.
 */
@Injectable()
export class ModelPoolService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ModelPoolService.name);
  private readonly pool: ModelPool<PooledChatModel>;

  constructor(@Inject(OMNI_CONFIG) private readonly config: OmniConfig) {
    this.pool = new ModelPool({
      budgetBytes: config.memoryBudgetBytes,
      idleTtlMs: config.modelIdleTtlS * 1000,
      sizeOf: weightBytes,
      load: (id, path) => this.loadChatModel(id, path),
      onEvict: (id, reason) => this.logger.log({ model: id, reason }, 'Model unloaded'),
    });
  }

  /** Runs `work` with the model loaded; 503 when it cannot fit while the loaded models are busy. */
  use<R>(id: string, path: string, work: (model: PooledChatModel) => Promise<R>): Promise<R> {
    return this.pool.use(id, path, work);
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

  private async loadChatModel(id: string, path: string): Promise<PooledChatModel> {
    const started = performance.now();
    const [weights, tokenizer] = await Promise.all([loadLanguageModel(path, { weights: this.config.quantizedWeights }), ModelTokenizer.load(path)]);
    this.logger.log({ model: id, path, seconds: (performance.now() - started) / 1000, weights: weights.quantizedWeights }, 'Model loaded');
    return { id, path, weights, tokenizer };
  }
}
