import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { OMNI_CONFIG, requireRedisUrl, type OmniConfig } from '@mlx-omni/config';
import { QUEUE_NAMES, consumerConnectionOptions } from '@mlx-omni/jobs';
import { GenerationModule } from '../generation/generation.module';
import { ModelsModule } from '../models/models.module';
import { DiagnosticsProcessor } from './diagnostics.processor';
import { ModelDownloadProcessor } from './model-download.processor';
import { SpeechProcessor } from './speech.processor';

/** Consumes the long-job queues (BullMQ on Redis); each queue has one processor here. */
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
  providers: [DiagnosticsProcessor, ModelDownloadProcessor, SpeechProcessor],
})
export class JobsModule {}
