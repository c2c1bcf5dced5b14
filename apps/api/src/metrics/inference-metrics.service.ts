import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type { GenerationChunk, GenerationResult } from '@mlx-omni/ipc';
import type { RequestContext } from '../common/http/request-context';
import type { WorkerStream } from '../inference/worker-stream';
import { METRIC_PREFIX, MetricsService } from './metrics.service';

/** One piece of inference work as the gateway ran it, whatever its kind. */
export interface InferenceObservation {
  context: RequestContext;
  /** The model id as the client named it: the label dashboards group by. */
  model: string;
  /** The surface's name for the work: `chat`, `completions`, `anthropic.messages`, `responses`, `embeddings`, … */
  endpoint: string;
  /** Whether the client receives the answer as a stream. */
  stream: boolean;
  /** Logged only with MLX_OMNI_LOG_PROMPTS=true. */
  prompt: unknown;
}

type Outcome = 'finished' | 'error' | 'cancelled';

/** What a call that reads inputs (embeddings, rerank) also counts: how many inputs, and the tokens its result says were read. */
export interface InputsRead<R> {
  inputs: number;
  tokensOf(result: R): number;
}

// vLLM's buckets, extended below 10 ms: a Mac decodes small models faster than vLLM's smallest bucket.
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const ITL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
const E2E_BUCKETS = [0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480];

/**
 * Inference metrics named after vLLM's (time to first token, inter-token latency, end-to-end
 * latency, token counters, running and waiting requests), measured where the API relays a worker's
 * chunks, plus one structured log line per generation.
 */
@Injectable()
export class InferenceMetricsService {
  private readonly logger = new Logger('Inference');
  private readonly ttft: Histogram<'model'>;
  private readonly itl: Histogram<'model'>;
  private readonly e2e: Histogram<'model'>;
  private readonly promptTokens: Counter<'model'>;
  private readonly generationTokens: Counter<'model'>;
  private readonly requests: Counter<'model' | 'finished_reason'>;
  private readonly running: Gauge<'model'>;
  private readonly waiting: Gauge<'model'>;
  private readonly inferenceRequests: Counter<'endpoint' | 'model' | 'outcome'>;
  private readonly inferenceDuration: Histogram<'endpoint' | 'model'>;
  private readonly unaryRequests: Counter<'model' | 'endpoint' | 'outcome'>;
  private readonly unaryInputs: Counter<'model' | 'endpoint'>;
  private readonly unaryTokens: Counter<'model' | 'endpoint'>;
  private readonly unaryLatency: Histogram<'model' | 'endpoint'>;

  constructor(
    metrics: MetricsService,
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
  ) {
    const registers = [metrics.registry];
    this.ttft = new Histogram({
      name: `${METRIC_PREFIX}time_to_first_token_seconds`,
      help: 'Time from dispatching a generation to a worker until its first chunk arrives',
      labelNames: ['model'],
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.itl = new Histogram({
      name: `${METRIC_PREFIX}inter_token_latency_seconds`,
      help: 'Time between successive chunks of one generation',
      labelNames: ['model'],
      buckets: ITL_BUCKETS,
      registers,
    });
    this.e2e = new Histogram({
      name: `${METRIC_PREFIX}e2e_request_latency_seconds`,
      help: 'Time from dispatch to the last chunk of generations that finished',
      labelNames: ['model'],
      buckets: E2E_BUCKETS,
      registers,
    });
    this.promptTokens = new Counter({
      name: `${METRIC_PREFIX}prompt_tokens_total`,
      help: 'Prompt tokens of finished generations',
      labelNames: ['model'],
      registers,
    });
    this.generationTokens = new Counter({
      name: `${METRIC_PREFIX}generation_tokens_total`,
      help: 'Generated tokens of finished generations',
      labelNames: ['model'],
      registers,
    });
    this.requests = new Counter({
      name: `${METRIC_PREFIX}request_success_total`,
      help: 'Generations that finished, by the finish reason of their first choice',
      labelNames: ['model', 'finished_reason'],
      registers,
    });
    this.running = new Gauge({
      name: `${METRIC_PREFIX}num_requests_running`,
      help: 'Generations producing tokens now',
      labelNames: ['model'],
      registers,
    });
    this.waiting = new Gauge({
      name: `${METRIC_PREFIX}num_requests_waiting`,
      help: 'Generations sent to a worker that have no first chunk yet (queued or in prefill)',
      labelNames: ['model'],
      registers,
    });
    this.inferenceRequests = new Counter({
      name: `${METRIC_PREFIX}inference_requests_total`,
      help: 'Work the inference gateway sent to workers or queues, by surface endpoint and outcome (finished, error, cancelled)',
      labelNames: ['endpoint', 'model', 'outcome'],
      registers,
    });
    this.inferenceDuration = new Histogram({
      name: `${METRIC_PREFIX}inference_duration_seconds`,
      help: 'Time from dispatch to the end of inference work that finished, by surface endpoint',
      labelNames: ['endpoint', 'model'],
      buckets: E2E_BUCKETS,
      registers,
    });
    this.unaryRequests = new Counter({
      name: `${METRIC_PREFIX}embedding_requests_total`,
      help: 'Embedding and rerank requests sent to a worker, by endpoint and outcome (finished, error)',
      labelNames: ['model', 'endpoint', 'outcome'],
      registers,
    });
    this.unaryInputs = new Counter({
      name: `${METRIC_PREFIX}embedding_inputs_total`,
      help: 'Inputs (embeddings) or documents (rerank) of finished requests',
      labelNames: ['model', 'endpoint'],
      registers,
    });
    this.unaryTokens = new Counter({
      name: `${METRIC_PREFIX}embedding_tokens_total`,
      help: 'Tokens the model read for finished embedding and rerank requests, special tokens included',
      labelNames: ['model', 'endpoint'],
      registers,
    });
    this.unaryLatency = new Histogram({
      name: `${METRIC_PREFIX}embedding_request_latency_seconds`,
      help: 'Time from dispatching an embedding or rerank request to a worker until its answer',
      labelNames: ['model', 'endpoint'],
      buckets: E2E_BUCKETS,
      registers,
    });
  }

  /**
   * Wraps a worker's token generation so that relaying it records the figures. Iterate the returned
   * stream instead of the original; leaving it early still cancels the worker's request.
   */
  trackGeneration<R extends GenerationResult>(stream: WorkerStream<GenerationChunk, R>, generation: InferenceObservation): WorkerStream<GenerationChunk, R> {
    const observe = this.observeGeneration.bind(this);
    return { result: stream.result, [Symbol.asyncIterator]: () => observe(stream, generation) };
  }

  /** The same for a stream of any other kind (transcription segments, …): outcome, duration and the log line. */
  trackStream<C, R>(stream: WorkerStream<C, R>, work: InferenceObservation): WorkerStream<C, R> {
    const ended = this.ended.bind(this);
    async function* observe(): AsyncGenerator<C, void, undefined> {
      const startedAt = performance.now();
      let outcome: Outcome = 'cancelled';
      let failure: unknown;
      try {
        yield* stream;
        outcome = 'finished';
      } catch (error) {
        outcome = 'error';
        failure = error;
        throw error;
      } finally {
        ended(work, outcome, startedAt, failure, {});
      }
    }
    return { result: stream.result, [Symbol.asyncIterator]: observe };
  }

  /**
   * Records one answered call (embeddings, a job awaited): outcome, duration and the log line; with
   * `read`, also the embedding and rerank counters (inputs and tokens read).
   */
  async trackCall<R>(call: Promise<R>, work: InferenceObservation, read?: InputsRead<R>): Promise<R> {
    const startedAt = performance.now();
    const labels = { model: work.model, endpoint: work.endpoint };
    try {
      const result = await call;
      let fields = {};
      if (read !== undefined) {
        const promptTokens = read.tokensOf(result);
        this.unaryRequests.inc({ ...labels, outcome: 'finished' });
        this.unaryLatency.observe(labels, (performance.now() - startedAt) / 1000);
        this.unaryInputs.inc(labels, read.inputs);
        this.unaryTokens.inc(labels, promptTokens);
        fields = { inputs: read.inputs, promptTokens };
      }
      this.ended(work, 'finished', startedAt, undefined, fields);
      return result;
    } catch (error) {
      if (read !== undefined) {
        this.unaryRequests.inc({ ...labels, outcome: 'error' });
      }
      this.ended(work, error instanceof Error && error.name === 'AbortError' ? 'cancelled' : 'error', startedAt, error, {});
      throw error;
    }
  }

  /** What every kind of work records when it ends, and its one log line. */
  private ended(work: InferenceObservation, outcome: Outcome, startedAt: number, failure: unknown, fields: Record<string, unknown>): void {
    const seconds = (performance.now() - startedAt) / 1000;
    this.inferenceRequests.inc({ endpoint: work.endpoint, model: work.model, outcome });
    if (outcome === 'finished') {
      this.inferenceDuration.observe({ endpoint: work.endpoint, model: work.model }, seconds);
    }
    this.logger.log(
      {
        requestId: work.context.requestId,
        key: work.context.keyName,
        model: work.model,
        endpoint: work.endpoint,
        stream: work.stream,
        outcome,
        ...fields,
        latencyMs: round(seconds * 1000),
        ...(failure === undefined ? {} : { error: failure instanceof Error ? failure.message : String(failure) }),
        ...(this.config.logPrompts ? { prompt: work.prompt } : {}),
      },
      'Generation ended',
    );
  }

  private async *observeGeneration<R extends GenerationResult>(stream: WorkerStream<GenerationChunk, R>, generation: InferenceObservation): AsyncGenerator<GenerationChunk, void, undefined> {
    const labels = { model: generation.model };
    const startedAt = performance.now();
    let firstAt: number | undefined;
    let lastAt = startedAt;
    const finishReasons: string[] = [];
    const completions: string[] = [];
    let outcome: Outcome = 'cancelled';
    let failure: unknown;
    this.waiting.inc(labels);
    try {
      for await (const chunk of stream) {
        if (chunk.type === 'prompt') {
          // It comes with the first token, not as one: timing it would add a zero gap.
          yield chunk;
          continue;
        }
        const now = performance.now();
        if (firstAt === undefined) {
          firstAt = now;
          this.ttft.observe(labels, (now - startedAt) / 1000);
          this.waiting.dec(labels);
          this.running.inc(labels);
        } else {
          this.itl.observe(labels, (now - lastAt) / 1000);
        }
        lastAt = now;
        if (chunk.type === 'finish') {
          finishReasons[chunk.choice] = chunk.reason;
        } else if (this.config.logPrompts && (chunk.type === 'content' || chunk.type === 'reasoning')) {
          completions[chunk.choice] = (completions[chunk.choice] ?? '') + chunk.text;
        }
        yield chunk;
      }
      outcome = 'finished';
    } catch (error) {
      outcome = 'error';
      failure = error;
      throw error;
    } finally {
      (firstAt === undefined ? this.waiting : this.running).dec(labels);
      const result = outcome === 'finished' ? await stream.result : undefined;
      if (result !== undefined) {
        const seconds = (lastAt - startedAt) / 1000;
        this.e2e.observe(labels, seconds);
        this.promptTokens.inc(labels, result.promptTokens);
        this.generationTokens.inc(labels, result.completionTokens);
        this.requests.inc({ ...labels, finished_reason: finishReasons[0] ?? 'unknown' });
      }
      this.ended(generation, outcome, startedAt, failure, {
        promptTokens: result?.promptTokens ?? null,
        completionTokens: result?.completionTokens ?? null,
        cachedTokens: result?.cachedTokens ?? null,
        finishReason: finishReasons.length > 0 ? [...new Set(finishReasons)].join(',') : null,
        ttftMs: firstAt === undefined ? null : round(firstAt - startedAt),
        ...(this.config.logPrompts ? { completion: completions } : {}),
      });
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
