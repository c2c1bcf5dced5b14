import { Module } from '@nestjs/common';
import { GenerationModule } from '../generation/generation.module';
import { ModelsModule } from '../models/models.module';
import { ChatGenerationService } from './chat-generation.service';

@Module({ imports: [ModelsModule, GenerationModule], providers: [ChatGenerationService], exports: [ChatGenerationService] })
export class ChatModule {}
