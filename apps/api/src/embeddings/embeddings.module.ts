import { Module } from '@nestjs/common';
import { InferenceModule } from '../inference/inference.module';
import { EmbeddingsController } from './embeddings.controller';
import { EmbeddingsService } from './embeddings.service';

@Module({ imports: [InferenceModule], controllers: [EmbeddingsController], providers: [EmbeddingsService] })
export class EmbeddingsModule {}
