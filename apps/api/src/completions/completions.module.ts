import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { WorkersModule } from '../workers/workers.module';
import { CompletionsController } from './completions.controller';
import { CompletionsService } from './completions.service';

@Module({ imports: [MetricsModule, ModelsModule, WorkersModule], controllers: [CompletionsController], providers: [CompletionsService] })
export class CompletionsModule {}
