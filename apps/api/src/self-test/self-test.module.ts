import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { SelfTestController } from './self-test.controller';

@Module({ imports: [JobsModule], controllers: [SelfTestController] })
export class SelfTestModule {}
