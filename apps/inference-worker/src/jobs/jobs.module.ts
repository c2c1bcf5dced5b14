import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { Injectable, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { OMNI_CONFIG, requireRedisUrl, type OmniConfig } from '@mlx-omni/config';
import { consumerConnectionOptions, QUEUE_NAMES, redactRedisUrl, RedisLinkMonitor } from '@mlx-omni/jobs';
import { GenerationModule } from '../generation/generation.module';
import { ModelsModule } from '../models/models.module';
import { DiagnosticsProcessor } from './diagnostics.processor';
import { ImagesProcessor } from './images.processor';
import { JobCancellation } from './job-cancellation';
import { ModelDownloadProcessor } from './model-download.processor';
import { SpeechProcessor } from './speech.processor';

/**
 * Logs this worker's link to Redis once per change, through its BullMQ workers' connection events;
 * the queue objects' own reports of the same outage are kept at debug.
 */
@Injectable()
class JobsRedisLink implements OnApplicationBootstrap {
  constructor(
    private readonly link: RedisLinkMonitor,
    private readonly moduleRef: ModuleRef,
    private readonly diagnostics: DiagnosticsProcessor,
    private readonly downloads: ModelDownloadProcessor,
    private readonly images: ImagesProcessor,
    private readonly speech: SpeechProcessor,
  ) {}

  onApplicationBootstrap(): void {
    for (const processor of [this.diagnostics, this.downloads, this.images, this.speech]) {
      this.link.watch(processor.worker);
    }
    for (const name of QUEUE_NAMES) {
      this.link.absorb(this.moduleRef.get<Queue>(getQueueToken(name), { strict: false }));
    }
  }
}

/**
 * Consumes the long-job queues (BullMQ on Redis); each queue has one processor here. The queues are
 * registered too: that is what makes @nestjs/bullmq start the processors.
 */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [OMNI_CONFIG],
      useFactory: (config: OmniConfig) => ({ connection: consumerConnectionOptions(requireRedisUrl(config)) }),
    }),
    BullModule.registerQueue(...QUEUE_NAMES.map((name) => ({ name }))),
    ModelsModule,
    GenerationModule,
  ],
  providers: [
    DiagnosticsProcessor,
    ModelDownloadProcessor,
    ImagesProcessor,
    SpeechProcessor,
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
