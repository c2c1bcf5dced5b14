import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { WorkersModule } from '../workers/workers.module';
import { ChatController } from './chat.controller';
import { ChatService } from './chat.service';

@Module({ imports: [MetricsModule, ModelsModule, WorkersModule], controllers: [ChatController], providers: [ChatService] })
export class ChatModule {}
