import { Module } from '@nestjs/common';
import { FairStepScheduler } from '@mlx-omni/mlx-native';

/** One scheduler per worker process: every request's steps take turns through it. */
@Module({ providers: [FairStepScheduler], exports: [FairStepScheduler] })
export class GenerationModule {}
