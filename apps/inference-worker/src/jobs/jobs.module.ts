import { BullModule } from '@nestjs/bullmq';
import { Injectable, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { OMNI_CONFIG, requireRedisUrl, type OmniConfig } from '@mlx-omni/config';
import { consumerConnectionOptions, redactRedisUrl, RedisLinkMonitor } from '@mlx-omni/jobs';
import { DiagnosticsProcessor } from './diagnostics.processor';
import { JobCancellation } from './job-cancellation';
import { ModelDownloadProcessor } from './model-download.processor';

/** Logs this worker's link to Redis once per change, through its BullMQ workers' connection events. */
@Injectable()
class JobsRedisLink implements OnApplicationBootstrap {
  constructor(
    private readonly link: RedisLinkMonitor,
    private readonly diagnostics: DiagnosticsProcessor,
    private readonly downloads: ModelDownloadProcessor,
  ) {}

  onApplicationBootstrap(): void {
    for (const processor of [this.diagnostics, this.downloads]) {
      this.link.watch(processor.worker);
    }
  }
}

/**
 * Consumes the long-job queues (BullMQ on Redis); each queue has one processor here. The worker
 * registers no queues of its own: processors take the shared connection, and a queue object
 * would be one more connection reporting every Redis outage.
 */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [OMNI_CONFIG],
      useFactory: (config: OmniConfig) => ({ connection: consumerConnectionOptions(requireRedisUrl(config)) }),
    }),
  ],
  providers: [
    DiagnosticsProcessor,
    ModelDownloadProcessor,
    JobCancellation,
    JobsRedisLink,
    {
      provide: RedisLinkMonitor,
      inject: [OMNI_CONFIG],
      useFactory: (config: OmniConfig) => new RedisLinkMonitor(new Logger('Redis'), redactRedisUrl(requireRedisUrl(config))),
    },
  ],
  exports: [JobCancellation],
})
export class JobsModule {}
