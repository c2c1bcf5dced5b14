import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { WorkersModule } from '../workers/workers.module';
import { CompletionsController } from './completions.controller';
import { CompletionsService } from './completions.service';

@Module({ imports: [ModelsModule, WorkersModule], controllers: [CompletionsController], providers: [CompletionsService] })
export class CompletionsModule {}
