import { Module } from '@nestjs/common';
import { InferenceModule } from '../inference/inference.module';
import { RerankController } from './rerank.controller';
import { RerankService } from './rerank.service';

@Module({ imports: [InferenceModule], controllers: [RerankController], providers: [RerankService] })
export class RerankModule {}
