import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { WorkersModule } from '../workers/workers.module';
import { MetricsController } from './metrics.controller';
import { InferenceMetricsService } from './inference-metrics.service';
import { MetricsService } from './metrics.service';

@Module({
  imports: [WorkersModule, JobsModule],
  controllers: [MetricsController],
  providers: [MetricsService, InferenceMetricsService],
  exports: [MetricsService, InferenceMetricsService],
})
export class MetricsModule {}
