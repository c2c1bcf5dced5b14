import { Inject, Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { createHash } from 'node:crypto';
import { sep } from 'node:path';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { supportedFamilies, type ModelKind } from '@mlx-omni/model-families';
import type { LoadedModelInfo } from '@mlx-omni/ipc';
import { deleteModel, ModelCatalog, ModelHubError, ModelInUseError, ModelNotFoundError, parseModelId, type ResolvedModel } from '@mlx-omni/model-hub';
import { ApiError } from '../common/errors/api-error';
import type { JobResponseDto } from '../jobs/dto/job-response.dto';
import { JobsService } from '../jobs/jobs.service';
import { WorkerRegistryService } from '../workers/worker-registry.service';
import type { ModelDeletedResponseDto, ModelDto, ModelListResponseDto } from './dto/model.dto';
import { unixSeconds } from '../common/unix-seconds';

/** A request that pulls a model first waits this long before answering 503 with the job to poll. */
const AUTO_DOWNLOAD_WAIT_MS = 10 * 60_000;
/** Loading a large model from disk takes minutes on a slow one. */
const LOAD_TIMEOUT_MS = 10 * 60_000;

/** How the lib's errors reach clients: each has its own code; the status is the HTTP one for its meaning. */
function toHttp(error: unknown): unknown {
  if (!(error instanceof ModelHubError)) {
    return error;
  }
  const status = error instanceof ModelNotFoundError ? 404 : error instanceof ModelInUseError ? 409 : 400;
  return new ApiError(status, error.message, { param: 'model', code: error.code });
}

/**
 * The models the server can serve: discovery in the Hugging Face cache and the extra folders,
 * where they are loaded, pulls from the Hub as jobs, deletion, and loading and unloading on workers.
 */
@Injectable()
export class ModelsService {
  private readonly catalog: ModelCatalog;

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly jobs: JobsService,
    private readonly workers: WorkerRegistryService,
  ) {
    this.catalog = new ModelCatalog({ hubCache: config.hfHubCache, extraDirs: config.modelDirs });
  }

  /** The catalog's models, then each exactly named alias whose model is there (a `*` alias names no one model). */
  async list(): Promise<ModelListResponseDto> {
    const models = await this.catalog.list();
    const aliases = this.config.modelAliases.flatMap(({ name, model }) => {
      const target = name.endsWith('*') ? undefined : models.find((candidate) => candidate.id === model);
      return target === undefined ? [] : [{ ...this.toDto(target), id: name, alias_of: target.id }];
    });
    return { object: 'list', data: [...models.map((model) => this.toDto(model)), ...aliases] };
  }

  async retrieve(id: string): Promise<ModelDto> {
    const model = await this.resolve(id);
    return model.id === id ? this.toDto(model) : { ...this.toDto(model), id, alias_of: model.id };
  }

  /**
   * The model a request for `kind` names: pulled first when auto-download is on. 400
   * `model_not_supported` when it is another kind, or of a family the engine does not run (it is
   * listed, with `supported: false`), so a listed model never fails its route with a 500.
   */
  async resolveFor(id: string, kind: ModelKind): Promise<ResolvedModel> {
    const model = await this.resolve(id, this.config.autoDownload);
    const notSupported = (message: string) => new ApiError(400, message, { param: 'model', code: 'model_not_supported' });
    if (model.kind !== kind) {
      throw notSupported(`The model ${id} is of kind ${model.kind} and cannot serve ${kind} requests`);
    }
    if (!model.supported) {
      const supported = supportedFamilies(kind);
      throw notSupported(
        `The model ${id} is of the ${model.family ?? 'unknown'} family, which this server does not run; supported ${kind} families: ${supported.join(', ') || 'none yet'}`,
      );
    }
    return model;
  }

  async remove(id: string): Promise<ModelDeletedResponseDto> {
    const loaded = this.loadedEverywhere().map(({ model }) => model.path);
    try {
      const deleted = await deleteModel(id, { hubCache: this.config.hfHubCache }, (repoDir) =>
        loaded.some((path) => path.startsWith(`${repoDir}${sep}`)),
      );
      return { id, object: 'model', deleted: true, freed_bytes: deleted.freedBytes };
    } catch (error) {
      throw toHttp(error);
    } finally {
      this.catalog.invalidate();
    }
  }

  /**
   * Enqueues a download, one job per model and revision: while one runs, pulling again returns it.
   * A finished one (done, or failed for good) is replaced, so pulling after a delete or a fix works.
   */
  async pull(model: string, revision: string): Promise<JobResponseDto> {
    const parsed = this.parse(model);
    if (parsed.kind !== 'repo' || parsed.revision !== undefined) {
      throw new ApiError(400, `Only Hub repo ids ("org/name") can be pulled, got "${model}"; put the revision in "revision"`, {
        param: 'model',
        code: 'invalid_model_id',
      });
    }
    this.parse(`${model}@${revision}`);
    return this.jobs.waitFor(await this.enqueuePull(model, revision), 0);
  }

  private async enqueuePull(model: string, revision: string): Promise<Job> {
    // BullMQ job ids cannot hold ":" and ours travel in URL paths: a digest of the pair fits both.
    const jobId = `pull-${createHash('sha256').update(`${model}@${revision}`).digest('hex').slice(0, 32)}`;
    await this.jobs.discardFinished('model-download', jobId);
    return this.jobs.enqueue('model-download', 'pull', { model, revision }, jobId);
  }

  /** Loads a model on the worker best placed for it (one that has it already, else the least busy). */
  async load(id: string): Promise<ModelDto> {
    // Whatever its kind, but one the engine runs: a listed model is never unknown to the catalog.
    const model = await this.resolveFor(id, (await this.resolve(id)).kind as ModelKind);
    const { client } = this.workers.pick(model.id);
    await client.call('model.load', { id: model.id, path: model.path }, { timeoutMs: LOAD_TIMEOUT_MS });
    await this.workers.refresh();
    return this.toDto(model);
  }

  /** Unloads the model from every worker that holds it; 409 while requests use it. */
  async unload(id: string): Promise<ModelDto> {
    const model = await this.resolve(id);
    await Promise.all(
      this.loadedEverywhere()
        .filter((entry) => entry.model.path === model.path)
        .map(({ workerId }) => this.workers.list().find((worker) => worker.workerId === workerId)?.client?.call('model.unload', { id: model.path })),
    );
    await this.workers.refresh();
    return this.toDto(model);
  }

  private parse(id: string): ReturnType<typeof parseModelId> {
    try {
      return parseModelId(id);
    } catch (error) {
      throw toHttp(error);
    }
  }

  /** What a name stands for: the first alias it matches (MLX_OMNI_MODEL_ALIASES), else itself. */
  private unalias(name: string): string {
    const alias = this.config.modelAliases.find((candidate) => (candidate.name.endsWith('*') ? name.startsWith(candidate.name.slice(0, -1)) : name === candidate.name));
    return alias?.model ?? name;
  }

  private resolve(name: string, pullWhenMissing = false): Promise<ResolvedModel> {
    return this.resolveId(this.unalias(name), pullWhenMissing);
  }

  private async resolveId(id: string, pullWhenMissing: boolean): Promise<ResolvedModel> {
    try {
      return await this.catalog.resolve(id);
    } catch (error) {
      if (!(error instanceof ModelNotFoundError && pullWhenMissing)) {
        throw toHttp(error);
      }
    }
    const parsed = parseModelId(id);
    if (parsed.kind !== 'repo') {
      throw toHttp(new ModelNotFoundError(id));
    }
    const pulled = await this.jobs.waitFor(await this.enqueuePull(parsed.repoId, parsed.revision ?? 'main'), AUTO_DOWNLOAD_WAIT_MS);
    if (pulled.status === 'failed') {
      throw new ApiError(404, `Model "${id}" is not downloaded, and pulling it failed: ${pulled.error?.message}`, {
        param: 'model',
        code: 'model_not_found',
      });
    }
    if (pulled.status !== 'completed') {
      throw new ApiError(503, `Model "${id}" is still downloading; retry once GET /v1/jobs/${pulled.id} shows it completed`, {
        param: 'model',
        code: 'model_downloading',
        headers: { 'retry-after': '30' },
      });
    }
    this.catalog.invalidate();
    return this.resolveId(id, false);
  }

  /** Every model loaded on a worker that answers, with the worker's id. */
  private loadedEverywhere(): Array<{ workerId: string; model: LoadedModelInfo }> {
    return this.workers
      .list()
      .filter((entry) => this.workers.isUp(entry))
      .flatMap((entry) => (entry.status?.loadedModels ?? []).map((model) => ({ workerId: entry.workerId, model })));
  }

  private toDto(model: ResolvedModel): ModelDto {
    const loads = this.loadedEverywhere().filter((entry) => entry.model.path === model.path);
    const parsed = parseModelId(model.id);
    return {
      id: model.id,
      object: 'model',
      created: model.createdAt,
      owned_by: parsed.kind === 'repo' && parsed.repoId.includes('/') ? parsed.repoId.split('/')[0] : 'local',
      kind: model.kind as ModelDto['kind'],
      family: model.family ?? 'unknown',
      supported: model.supported,
      size_bytes: model.sizeBytes,
      quantization: model.quantization === undefined ? null : { bits: model.quantization.bits, group_size: model.quantization.groupSize },
      context_length: model.contextLength ?? null,
      default_max_tokens: model.kind === 'chat' ? this.config.defaultMaxTokens : null,
      revision: model.revision ?? null,
      loaded_on: loads.map((entry) => entry.workerId),
      loads: loads.map(({ workerId, model: loaded }) => ({
        worker_id: workerId,
        loaded_at: unixSeconds(Date.parse(loaded.loadedAt)),
        load_seconds: loaded.loadSeconds,
        pinned: loaded.pinned,
        active_requests: loaded.activeRequests,
      })),
      companions: model.companions.map(({ repo, provides, path }) => ({ repo, provides, cached: path !== undefined })),
    };
  }
}
