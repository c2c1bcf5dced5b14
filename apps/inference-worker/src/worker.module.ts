import { Module, type DynamicModule } from '@nestjs/common';
import { OmniConfigModule, type OmniConfig } from '@mlx-omni/config';
import { ChannelModule } from './channel/channel.module';
import type { WorkerTransport } from './channel/worker-channel.service';
import { JobsModule } from './jobs/jobs.module';
import { ShutdownCoordinator } from './shutdown/shutdown-coordinator';
import { StatusModule } from './status/status.module';

@Module({})
export class WorkerModule {
  static forRoot(config: OmniConfig, transport: WorkerTransport = 'socket'): DynamicModule {
    return {
      module: WorkerModule,
      imports: [OmniConfigModule.forRoot(config), StatusModule, ChannelModule.over(transport), JobsModule],
      providers: [ShutdownCoordinator],
    };
  }
}
