import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type Redis from 'ioredis';
import type { BatchStatus, WorkerStatus } from '@mlx-omni/ipc';
import { QUEUE_NAMES } from '@mlx-omni/jobs';
import { JobsService } from '../jobs/jobs.service';
import { REDIS_CLIENT } from '../redis/redis.module';
import { WorkerRegistryService } from '../workers/worker-registry.service';

/** Every metric name of ours starts with this, so dashboards can select the service's own series. */
export const METRIC_PREFIX = 'mlx_omni_';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/** One registry per API process: process metrics, HTTP latency, worker and queue gauges read at scrape time. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly keyRequests: Counter<'key' | 'route' | 'status_code'>;

  constructor(
    workers: WorkerRegistryService,
    jobs: JobsService,
    @Inject(REDIS_CLIENT) redis: Redis,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    // prom-client also exports these gauges under a `_total` name, which promtool rejects as a
    // counter suffix on a gauge; the same figures remain as `nodejs_active_*` without it.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
      this.registry.removeSingleMetric(`${METRIC_PREFIX}nodejs_${name}`);
    }
    this.httpDuration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'HTTP request duration by route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [this.registry],
    });
    this.keyRequests = new Counter({
      name: `${METRIC_PREFIX}key_requests_total`,
      help: 'HTTP requests made with an API key, by the key\'s name (never the key)',
      labelNames: ['key', 'route', 'status_code'],
      registers: [this.registry],
    });
    new Gauge({
      name: `${METRIC_PREFIX}worker_up`,
      help: 'Whether an inference worker answers heartbeats (1) or not (0)',
      labelNames: ['worker_id'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const entry of workers.list()) {
          this.set({ worker_id: entry.workerId }, workers.isUp(entry) ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}model_memory_bytes`,
      help: 'Bytes of each model a worker holds loaded',
      labelNames: ['worker_id', 'model'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const entry of workers.list()) {
          for (const model of entry.status?.loadedModels ?? []) {
            this.set({ worker_id: entry.workerId, model: model.id }, model.sizeBytes);
          }
        }
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}redis_up`,
      help: 'Whether the API reaches Redis (1) or not (0)',
      registers: [this.registry],
      collect() {
        this.set(redis.status === 'ready' ? 1 : 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}queue_jobs`,
      help: 'Jobs per long-job queue and state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        if (redis.status !== 'ready') {
          // Counting would fail anyway; the scrape must not wait on a dead Redis.
          return;
        }
        await Promise.all(
          QUEUE_NAMES.map(async (name) => {
            const counts = await jobs.queue(name).getJobCounts(...QUEUE_STATES);
            for (const state of QUEUE_STATES) {
              this.set({ queue: name, state }, counts[state] ?? 0);
            }
          }),
        ).catch(() => undefined);
      },
    });
    this.registerModelPoolMetrics(workers);
  }

  /** Read from the workers' last heartbeat, so a scrape never waits on a worker. */
  private registerModelPoolMetrics(workers: WorkerRegistryService): void {
    const statuses = () => workers.list().flatMap((entry) => (entry.status === undefined ? [] : [entry.status]));
    new Gauge({
      name: `${METRIC_PREFIX}models_loaded`,
      help: 'Models loaded in each worker',
      labelNames: ['worker_id'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const status of statuses()) {
          this.set({ worker_id: status.workerId }, status.loadedModels.length);
        }
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}model_pool_bytes`,
      help: "Each worker's model memory: used by loaded models, and its budget",
      labelNames: ['worker_id', 'kind'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { workerId, modelPool } of statuses()) {
          this.set({ worker_id: workerId, kind: 'used' }, modelPool.usedBytes);
          this.set({ worker_id: workerId, kind: 'budget' }, modelPool.budgetBytes);
        }
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}model_evictions_total`,
      help: 'Models unloaded by each worker: lru (to make room), ttl (idle too long), admin (unload route)',
      labelNames: ['worker_id', 'reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { workerId, modelPool } of statuses()) {
          for (const [reason, count] of Object.entries(modelPool.evictions)) {
            this.inc({ worker_id: workerId, reason }, count);
          }
        }
      },
    });
    this.registerBatchMetrics(statuses);
    // Each load is observed once, the first scrape after a heartbeat shows it (a model loaded and
    // unloaded between two scrapes is missed); the key tells a reload from the same load seen again.
    const observed = new Set<string>();
    new Histogram({
      name: `${METRIC_PREFIX}model_load_seconds`,
      help: 'Time to load a model into a worker',
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [this.registry],
      collect() {
        for (const { workerId, loadedModels } of statuses()) {
          for (const model of loadedModels) {
            const key = `${workerId}\t${model.path}\t${model.loadedAt}`;
            if (!observed.has(key)) {
              observed.add(key);
              this.observe(model.loadSeconds);
            }
          }
        }
      },
    });
  }

  /** vLLM's names for the batch and the prefix cache, per worker and chat model, from the last heartbeat. */
  private registerBatchMetrics(statuses: () => WorkerStatus[]): void {
    const batches = () =>
      statuses().flatMap(({ workerId, loadedModels }) =>
        loadedModels.flatMap((model) => (model.batch === undefined ? [] : [{ labels: { worker_id: workerId, model: model.id }, key: `${workerId}\t${model.path}\t${model.loadedAt}`, batch: model.batch }])),
      );
    new Gauge({
      name: `${METRIC_PREFIX}kv_cache_usage_perc`,
      help: "Fraction of a chat model's KV cache limit (MLX_OMNI_KV_CACHE_BYTES) its running sequences hold",
      labelNames: ['worker_id', 'model'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { labels, batch } of batches()) {
          this.set(labels, batch.kvLimitBytes ? batch.kvBytes / batch.kvLimitBytes : 0);
        }
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}prompt_cache_bytes`,
      help: 'Bytes of keys and values a chat model keeps for prompts that start the same way',
      labelNames: ['worker_id', 'model'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { labels, batch } of batches()) {
          this.set(labels, batch.promptCacheBytes);
        }
      },
    });
    const tokenCounter = (name: string, help: string, read: (batch: BatchStatus) => number) =>
      new Counter({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames: ['worker_id', 'model'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const { labels, batch } of batches()) {
            this.inc(labels, read(batch));
          }
        },
      });
    tokenCounter('prefix_cache_queries_total', 'Prompt tokens looked up in the prefix (prompt) cache', (batch) => batch.prefixCacheQueriedTokens);
    tokenCounter('prefix_cache_hits_total', 'Prompt tokens served from the prefix (prompt) cache instead of computed', (batch) => batch.prefixCacheHitTokens);
    // Workers count steps per batch size since load; each scrape observes what is new since the last one.
    const seen = new Map<string, number[]>();
    new Histogram({
      name: `${METRIC_PREFIX}batch_size`,
      help: 'Sequences decoded together per decode step of a chat model',
      labelNames: ['worker_id', 'model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [this.registry],
      collect() {
        for (const { labels, key, batch } of batches()) {
          const before = seen.get(key) ?? [];
          batch.stepsByBatchSize.forEach((steps, size) => {
            for (let i = before[size] ?? 0; i < steps; i++) {
              this.observe(labels, size);
            }
          });
          seen.set(key, [...batch.stepsByBatchSize]);
        }
      },
    });
  }

  observeHttp(method: string, route: string, statusCode: number, seconds: number, keyName: string | null): void {
    this.httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
    if (keyName !== null) {
      this.keyRequests.inc({ key: keyName, route, status_code: String(statusCode) });
    }
  }
}
