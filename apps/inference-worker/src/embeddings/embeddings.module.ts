import { Module } from '@nestjs/common';
import { GenerationModule } from '../generation/generation.module';
import { ModelsModule } from '../models/models.module';
import { EmbeddingsService } from './embeddings.service';

@Module({ imports: [ModelsModule, GenerationModule], providers: [EmbeddingsService], exports: [EmbeddingsService] })
export class EmbeddingsModule {}
