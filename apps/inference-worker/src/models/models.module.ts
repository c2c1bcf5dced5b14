import { Module } from '@nestjs/common';
import { GenerationModule } from '../generation/generation.module';
import { ModelPoolService } from './model-pool.service';

@Module({ imports: [GenerationModule], providers: [ModelPoolService], exports: [ModelPoolService] })
export class ModelsModule {}
