import { Module, type DynamicModule } from '@nestjs/common';
import { OmniConfigModule, type OmniConfig } from '@mlx-omni/config';
import { ChannelModule } from './channel/channel.module';
import { JobsModule } from './jobs/jobs.module';
import { ShutdownCoordinator } from './shutdown/shutdown-coordinator';
import { StatusModule } from './status/status.module';

@Module({})
export class WorkerModule {
  static forRoot(config: OmniConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [OmniConfigModule.forRoot(config), StatusModule, ChannelModule, JobsModule],
      providers: [ShutdownCoordinator],
    };
  }
}
