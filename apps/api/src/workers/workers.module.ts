import { Module } from '@nestjs/common';
import { WorkerRegistryService } from './worker-registry.service';
import { WorkersController } from './workers.controller';

@Module({ controllers: [WorkersController], providers: [WorkerRegistryService], exports: [WorkerRegistryService] })
export class WorkersModule {}
