import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { ChatGenerationService } from './chat-generation.service';

@Module({ imports: [ModelsModule], providers: [ChatGenerationService], exports: [ChatGenerationService] })
export class ChatModule {}
