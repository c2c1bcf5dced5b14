import { Module } from '@nestjs/common';
import { GenerationModule } from '../generation/generation.module';
import { ModelsModule } from '../models/models.module';
import { TextGenerationService } from './text-generation.service';

@Module({ imports: [ModelsModule, GenerationModule], providers: [TextGenerationService], exports: [TextGenerationService] })
export class CompletionsModule {}
