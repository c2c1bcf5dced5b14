import { Module, type DynamicModule } from '@nestjs/common';
import { ChatModule } from '../chat/chat.module';
import { CompletionsModule } from '../completions/completions.module';
import { EmbeddingsModule } from '../embeddings/embeddings.module';
import { JobsModule } from '../jobs/jobs.module';
import { ModelsModule } from '../models/models.module';
import { StatusModule } from '../status/status.module';
import { TranscriptionModule } from '../transcription/transcription.module';
import { WORKER_TRANSPORT, WorkerChannelService, type WorkerTransport } from './worker-channel.service';

@Module({})
export class ChannelModule {
  static over(transport: WorkerTransport): DynamicModule {
    return {
      module: ChannelModule,
      imports: [StatusModule, ChatModule, CompletionsModule, EmbeddingsModule, TranscriptionModule, ModelsModule, JobsModule],
      providers: [{ provide: WORKER_TRANSPORT, useValue: transport }, WorkerChannelService],
      exports: [WorkerChannelService],
    };
  }
}
