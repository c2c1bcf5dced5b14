import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { WorkersModule } from '../workers/workers.module';
import { InferenceGateway } from './inference-gateway.service';

/** The inference gateway; every surface module imports this and nothing else of the inference path. */
@Module({ imports: [MetricsModule, ModelsModule, WorkersModule, JobsModule], providers: [InferenceGateway], exports: [InferenceGateway] })
export class InferenceModule {}
