import { Module } from '@nestjs/common';
import { StatusModule } from '../status/status.module';
import { WorkerChannelService } from './worker-channel.service';

@Module({ imports: [StatusModule], providers: [WorkerChannelService], exports: [WorkerChannelService] })
export class ChannelModule {}
