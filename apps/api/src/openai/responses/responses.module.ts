import { Module } from '@nestjs/common';
import { InferenceModule } from '../../inference/inference.module';
import { ResponsesController } from './responses.controller';
import { ResponsesService } from './responses.service';
import { ResponsesStore } from './responses.store';

@Module({ imports: [InferenceModule], controllers: [ResponsesController], providers: [ResponsesService, ResponsesStore] })
export class ResponsesModule {}
