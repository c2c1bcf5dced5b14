import { Module } from '@nestjs/common';
import { InferenceModule } from '../inference/inference.module';
import { ModelsModule } from '../models/models.module';
import { AnthropicMessagesController } from './messages/messages.controller';
import { AnthropicMessagesService } from './messages/messages.service';
import { AnthropicModelsController } from './models/anthropic-models.controller';
import { AnthropicModelsService } from './models/anthropic-models.service';

/** Anthropic's Messages and Models APIs under /anthropic; every error there is in Anthropic's envelope (surface-errors.ts). */
@Module({
  imports: [InferenceModule, ModelsModule],
  controllers: [AnthropicMessagesController, AnthropicModelsController],
  providers: [AnthropicMessagesService, AnthropicModelsService],
})
export class AnthropicModule {}
