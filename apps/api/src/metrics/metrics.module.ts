import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { WorkersModule } from '../workers/workers.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Module({
  imports: [WorkersModule, JobsModule],
  controllers: [MetricsController],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
