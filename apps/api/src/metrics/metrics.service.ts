import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type Redis from 'ioredis';
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
  }

  observeHttp(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }
}
