import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { WorkersModule } from '../workers/workers.module';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

@Module({ imports: [JobsModule, WorkersModule], controllers: [ModelsController], providers: [ModelsService], exports: [ModelsService] })
export class ModelsModule {}
