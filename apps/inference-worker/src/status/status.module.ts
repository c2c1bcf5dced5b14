import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { WorkerStatusService } from './worker-status.service';

@Module({ imports: [ModelsModule], providers: [WorkerStatusService], exports: [WorkerStatusService] })
export class StatusModule {}
