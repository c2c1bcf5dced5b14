import { Injectable } from '@nestjs/common';
import type { GenerationChunk, GenerationResult, WorkerProtocol } from '@mlx-omni/ipc';
import type { JobName, JobPayload, QueueName } from '@mlx-omni/jobs';
import type { ModelKind } from '@mlx-omni/model-families';
import type { ResolvedModel } from '@mlx-omni/model-hub';
import type { RequestContext } from '../common/http/request-context';
import type { JobResponseDto } from '../jobs/dto/job-response.dto';
import { JobsService } from '../jobs/jobs.service';
import { InferenceMetricsService, type InferenceObservation, type InputsRead } from '../metrics/inference-metrics.service';
import { ModelsService } from '../models/models.service';
import { RateLimitService } from '../rate-limits/rate-limit.service';
import { WorkerRegistryService } from '../workers/worker-registry.service';
import { firstChunkArrived, type WorkerStream } from './worker-stream';

type StreamMethods = WorkerProtocol['stream'];
type UnaryMethods = WorkerProtocol['unary'];
export type StreamMethod = keyof StreamMethods & string;
export type UnaryMethod = keyof UnaryMethods & string;
/** The stream methods that generate tokens: their chunks feed the token metrics and their results the token limits. */
export type GenerationMethod = {
  [K in StreamMethod]: StreamMethods[K]['chunk'] extends GenerationChunk ? (StreamMethods[K]['result'] extends GenerationResult ? K : never) : never;
}[StreamMethod];

/** Who asks for what, as every gateway path needs it. */
export interface InferenceRequest {
  /** The surface's name for the work (`chat`, `anthropic.messages`, `embeddings`, …): a metrics label and a log field. */
  endpoint: string;
  /** The model as `resolve` returned it. */
  model: ResolvedModel;
  /** The id the client sent (an alias stays an alias): what dashboards and logs show. */
  modelName: string;
  context: RequestContext;
  /** Fires when the client leaves; the worker's request is cancelled within a step. */
  signal: AbortSignal;
  /** Whether the client receives the answer as a stream (logged). */
  stream?: boolean;
  /** Logged only with MLX_OMNI_LOG_PROMPTS=true. */
  prompt?: unknown;
}

/** A surface's request for a generation, before its model is resolved. */
export interface SurfaceGeneration {
  endpoint: string;
  /** The model as the client named it (an id, a path or an alias). */
  model: string;
  kind: ModelKind;
  context: RequestContext;
  signal: AbortSignal;
  stream: boolean;
}

export interface ChargeOptions<R> {
  /** Tokens the work generated, charged to the caller's tokens-per-minute limit once it finished; none by default. */
  tokensOf?: (result: R) => number;
}

/**
 * The one inference path every surface takes: resolve the model → pick a worker (one that holds
 * it, else the least busy; 503 when all are full) → run the work over IPC or on a queue → record
 * metrics and the log line → charge the caller's key. Per-key admission (concurrency and request
 * rate) happens before any route, in the rate-limit interceptor. Surfaces map their request to the
 * worker's parameters and the worker's answer to their wire format, nothing more.
 */
@Injectable()
export class InferenceGateway {
  constructor(
    private readonly models: ModelsService,
    private readonly workers: WorkerRegistryService,
    private readonly metrics: InferenceMetricsService,
    private readonly rateLimits: RateLimitService,
    private readonly jobs: JobsService,
  ) {}

  /** The model a request names (an id, a path or an alias), checked to be of `kind` and run by the engine: 404 / 400 otherwise. */
  resolve(model: string, kind: ModelKind): Promise<ResolvedModel> {
    return this.models.resolveFor(model, kind);
  }

  /**
   * Generates tokens on a worker. Resolves once the first chunk arrived, so a refusal is still a
   * plain 4xx; the returned stream feeds the token metrics and charges the completion tokens.
   */
  async generate<M extends GenerationMethod>(method: M, params: StreamMethods[M]['params'], request: InferenceRequest): Promise<WorkerStream<GenerationChunk, StreamMethods[M]['result']>> {
    const { client } = this.workers.pick(request.model.id);
    const stream = this.metrics.trackGeneration(client.stream(method, params, { signal: request.signal }), this.observation(request));
    this.rateLimits.chargeTokens(stream.result, (result) => result.completionTokens);
    return firstChunkArrived(stream);
  }

  /**
   * What most surfaces do: resolve the model the client named, build the worker's parameters for
   * it, and generate. The messages (or prompts) are what the log line shows with MLX_OMNI_LOG_PROMPTS.
   */
  async generateFor<M extends GenerationMethod>(
    method: M,
    work: SurfaceGeneration,
    toParams: (model: ResolvedModel) => StreamMethods[M]['params'],
  ): Promise<{ params: StreamMethods[M]['params']; stream: WorkerStream<GenerationChunk, StreamMethods[M]['result']> }> {
    const model = await this.resolve(work.model, work.kind);
    const params = toParams(model);
    const prompt = 'messages' in params ? params.messages : params.prompts;
    const stream = await this.generate(method, params, { endpoint: work.endpoint, model, modelName: work.model, context: work.context, signal: work.signal, stream: work.stream, prompt });
    return { params, stream };
  }

  /** Any other worker stream (transcription segments, …), from its first chunk on, with its outcome recorded. */
  async stream<M extends StreamMethod>(
    method: M,
    params: StreamMethods[M]['params'],
    request: InferenceRequest,
    options: ChargeOptions<StreamMethods[M]['result']> = {},
  ): Promise<WorkerStream<StreamMethods[M]['chunk'], StreamMethods[M]['result']>> {
    const { client } = this.workers.pick(request.model.id);
    const stream = this.metrics.trackStream(client.stream(method, params, { signal: request.signal }), this.observation(request));
    this.charge(stream.result, options);
    return firstChunkArrived(stream);
  }

  /**
   * One answer from a worker (embeddings, rerank), with its outcome recorded. Inputs read (`read`) are
   * counted on the embedding metrics and charged to the caller's tokens-per-minute limit.
   */
  call<M extends UnaryMethod>(
    method: M,
    params: UnaryMethods[M]['params'],
    request: InferenceRequest,
    options: { read?: InputsRead<UnaryMethods[M]['result']>; timeoutMs?: number } = {},
  ): Promise<UnaryMethods[M]['result']> {
    const { client } = this.workers.pick(request.model.id);
    const result = this.metrics.trackCall(client.call(method, params, { signal: request.signal, timeoutMs: options.timeoutMs }), this.observation(request), options.read);
    this.charge(result, { tokensOf: options.read?.tokensOf });
    return result;
  }

  /**
   * Long work on a queue (speech, images): enqueued with the caller as owner and awaited up to
   * MLX_OMNI_JOB_WAIT_S (`JobsService.submit`). A job that failed for a client reason throws its 4xx;
   * one still queued or running comes back as it is, for the surface to answer 202 with the job to poll.
   */
  job<Q extends QueueName, N extends JobName<Q>>(queue: Q, name: N, payload: JobPayload<Q, N>, request: InferenceRequest): Promise<JobResponseDto> {
    return this.metrics.trackCall(this.jobs.submit(queue, name, payload), this.observation(request));
  }

  private charge<R>(result: Promise<R>, { tokensOf }: ChargeOptions<R>): void {
    if (tokensOf !== undefined) {
      this.rateLimits.chargeTokens(result, tokensOf);
    }
  }

  private observation(request: InferenceRequest): InferenceObservation {
    return { context: request.context, model: request.modelName, endpoint: request.endpoint, stream: request.stream === true, prompt: request.prompt ?? null };
  }
}
