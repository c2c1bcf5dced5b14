import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { OMNI_CONFIG, requireRedisUrl, type OmniConfig } from '@mlx-omni/config';
import { QUEUE_NAMES, producerConnectionOptions } from '@mlx-omni/jobs';
import { WorkersModule } from '../workers/workers.module';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';

/** The producer side of the long-job queues, and the job routes (status, list, cancel). */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [OMNI_CONFIG],
      useFactory: (config: OmniConfig) => ({ connection: producerConnectionOptions(requireRedisUrl(config)) }),
    }),
    BullModule.registerQueue(...QUEUE_NAMES.map((name) => ({ name }))),
    WorkersModule,
  ],
  controllers: [JobsController],
  providers: [JobsService],
  exports: [JobsService],
})
export class JobsModule {}
