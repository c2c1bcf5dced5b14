import { Module } from '@nestjs/common';
import { InferenceModule } from '../../inference/inference.module';
import { CompletionsController } from './completions.controller';
import { CompletionsService } from './completions.service';

@Module({ imports: [InferenceModule], controllers: [CompletionsController], providers: [CompletionsService] })
export class CompletionsModule {}
