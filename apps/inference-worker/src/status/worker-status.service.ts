import { Inject, Injectable } from '@nestjs/common';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type { WorkerStatus } from '@mlx-omni/ipc';
import { mlxRuntimeInfo } from '@mlx-omni/mlx-native';
import { ModelPoolService } from '../models/model-pool.service';

/** The worker's own view of itself: identity, device, memory, load. Read by the API's registry over IPC. */
@Injectable()
export class WorkerStatusService {
  private readonly startedAt = new Date().toISOString();
  private draining = false;

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly pool: ModelPoolService,
  ) {}

  get isDraining(): boolean {
    return this.draining;
  }

  startDraining(): void {
    this.draining = true;
  }

  /** `activeRequests` comes from the channel, which alone knows what it is running. */
  snapshot(activeRequests: number): WorkerStatus {
    const runtime = mlxRuntimeInfo();
    const memory = process.memoryUsage();
    return {
      workerId: this.config.workerId,
      pid: process.pid,
      device: runtime.device,
      deviceInfo: runtime.deviceInfo,
      startedAt: this.startedAt,
      draining: this.draining,
      activeRequests,
      maxPending: this.config.workerMaxPending,
      loadedModels: this.pool.loaded(),
      modelPool: this.pool.status(),
      memory: {
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        mlxActiveBytes: runtime.activeMemoryBytes,
        mlxPeakBytes: runtime.peakMemoryBytes,
        mlxCacheBytes: runtime.cacheMemoryBytes,
      },
    };
  }
}
