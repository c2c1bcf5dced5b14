import { Module } from '@nestjs/common';
import { ChatModule } from '../chat/chat.module';
import { CompletionsModule } from '../completions/completions.module';
import { EmbeddingsModule } from '../embeddings/embeddings.module';
import { JobsModule } from '../jobs/jobs.module';
import { ModelsModule } from '../models/models.module';
import { StatusModule } from '../status/status.module';
import { TranscriptionModule } from '../transcription/transcription.module';
import { WorkerChannelService } from './worker-channel.service';

@Module({ imports: [StatusModule, ChatModule, CompletionsModule, EmbeddingsModule, TranscriptionModule, ModelsModule, JobsModule], providers: [WorkerChannelService], exports: [WorkerChannelService] })
export class ChannelModule {}
