import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type Redis from 'ioredis';
import { once } from 'node:events';
import { statfs } from 'node:fs/promises';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { REDIS_CLIENT } from '../redis/redis.module';
import { WorkerRegistryService } from '../workers/worker-registry.service';

/** The checks behind `/health/ready`; each names itself in the 503 body when it fails. */
@Injectable()
export class ReadinessIndicators {
  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly indicators: HealthIndicatorService,
    private readonly workers: WorkerRegistryService,
    private readonly lifecycle: LifecycleService,
  ) {}

  accepting(): HealthIndicatorResult {
    const indicator = this.indicators.check('accepting');
    return this.lifecycle.isDraining ? indicator.down({ message: 'shutting down' }) : indicator.up();
  }

  async redisReachable(): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check('redis');
    try {
      const started = performance.now();
      if (this.redis.status !== 'ready') {
        // The client fails fast while disconnected; a connection in progress gets a moment to finish.
        await once(this.redis, 'ready', { signal: AbortSignal.timeout(1_000) });
      }
      await this.redis.ping();
      return indicator.up({ latency_ms: Math.round((performance.now() - started) * 100) / 100 });
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }

  async workersAnswering(): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check('workers');
    const all = this.workers.list();
    const up = all.filter((entry) => this.workers.isUp(entry)).length;
    const details = {
      up,
      known: all.length,
      model_pools: all.flatMap(({ workerId, status }) =>
        status === undefined
          ? []
          : [{ worker_id: workerId, models: status.loadedModels.map((model) => model.id), used_bytes: status.modelPool.usedBytes, budget_bytes: status.modelPool.budgetBytes }],
      ),
    };
    return up > 0 ? indicator.up(details) : indicator.down({ ...details, message: 'no inference worker is answering' });
  }

  async freeDisk(): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check('disk');
    const stats = await statfs(this.config.hfHubCache).catch(() => statfs(this.config.stateDir)).catch(() => statfs('/'));
    const freeBytes = stats.bavail * stats.bsize;
    const details = { free_bytes: freeBytes, min_free_bytes: this.config.minFreeDiskBytes };
    return freeBytes >= this.config.minFreeDiskBytes ? indicator.up(details) : indicator.down({ ...details, message: 'free disk below the minimum' });
  }
}
