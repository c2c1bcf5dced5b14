import { Module } from '@nestjs/common';
import { GenerationModule } from '../generation/generation.module';
import { ModelsModule } from '../models/models.module';
import { TranscriptionService } from './transcription.service';

@Module({ imports: [ModelsModule, GenerationModule], providers: [TranscriptionService], exports: [TranscriptionService] })
export class TranscriptionModule {}
