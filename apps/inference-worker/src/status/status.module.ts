import { Module } from '@nestjs/common';
import { WorkerStatusService } from './worker-status.service';

@Module({ providers: [WorkerStatusService], exports: [WorkerStatusService] })
export class StatusModule {}
