import { Injectable, Logger } from '@nestjs/common';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedModelInfo } from '@mlx-omni/ipc';
import { loadLanguageModel, ModelTokenizer, type LoadedLanguageModel } from '@mlx-omni/mlx-native';

/** A chat model ready to generate: weights, tokenizer and the facts generation needs. */
export interface PooledChatModel {
  id: string;
  path: string;
  weights: LoadedLanguageModel;
  tokenizer: ModelTokenizer;
  loadedAt: Date;
  sizeBytes: number;
}

async function weightBytes(dir: string): Promise<number> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.safetensors'));
  const sizes = await Promise.all(names.map(async (name) => (await stat(join(dir, name))).size));
  return sizes.reduce((total, size) => total + size, 0);
}

/**
 * The models this worker holds, keyed by directory. Loads on first use; concurrent requests for a
 * model that is loading share the one load.
 */
@Injectable()
export class ModelPoolService {
  private readonly logger = new Logger(ModelPoolService.name);
  private readonly loading = new Map<string, Promise<PooledChatModel>>();
  private readonly ready = new Map<string, PooledChatModel>();

  acquire(id: string, path: string): Promise<PooledChatModel> {
    const loaded = this.ready.get(path);
    if (loaded !== undefined) {
      return Promise.resolve(loaded);
    }
    let pending = this.loading.get(path);
    if (pending === undefined) {
      pending = this.load(id, path).finally(() => this.loading.delete(path));
      this.loading.set(path, pending);
      // A failed load is not kept: the next request tries again (the files may have been fixed).
      pending.then((model) => this.ready.set(path, model)).catch(() => undefined);
    }
    return pending;
  }

  private async load(id: string, path: string): Promise<PooledChatModel> {
    const started = performance.now();
    const [weights, tokenizer, sizeBytes] = await Promise.all([loadLanguageModel(path), ModelTokenizer.load(path), weightBytes(path)]);
    this.logger.log({ model: id, path, seconds: (performance.now() - started) / 1000, sizeBytes, weights: weights.quantizedWeights }, 'Model loaded');
    return { id, path, weights, tokenizer, loadedAt: new Date(), sizeBytes };
  }

  /** Models whose load has finished, for the worker's status. */
  loaded(): LoadedModelInfo[] {
    return [...this.ready.values()].map((model) => ({ id: model.id, loadedAt: model.loadedAt.toISOString(), sizeBytes: model.sizeBytes }));
  }
}
