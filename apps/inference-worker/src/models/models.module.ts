import { Module } from '@nestjs/common';
import { ModelPoolService } from './model-pool.service';

@Module({ providers: [ModelPoolService], exports: [ModelPoolService] })
export class ModelsModule {}
