import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { TextGenerationService } from './text-generation.service';

@Module({ imports: [ModelsModule], providers: [TextGenerationService], exports: [TextGenerationService] })
export class CompletionsModule {}
