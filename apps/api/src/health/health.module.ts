import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { WorkersModule } from '../workers/workers.module';
import { HealthController } from './health.controller';
import { ReadinessIndicators } from './readiness.indicators';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), WorkersModule],
  controllers: [HealthController],
  providers: [ReadinessIndicators],
})
export class HealthModule {}
