import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { WorkersModule } from '../workers/workers.module';
import { RerankController } from './rerank.controller';
import { RerankService } from './rerank.service';

@Module({ imports: [MetricsModule, ModelsModule, WorkersModule], controllers: [RerankController], providers: [RerankService] })
export class RerankModule {}
