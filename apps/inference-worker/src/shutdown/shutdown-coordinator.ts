import { Inject, Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { WorkerChannelService } from '../channel/worker-channel.service';
import { WorkerStatusService } from '../status/worker-status.service';

/**
 * SIGTERM/SIGINT: take no new work, let running requests and jobs finish within the grace
 * period, then close. The API sees `draining` in the worker's status and routes elsewhere meanwhile.
 */
@Injectable()
export class ShutdownCoordinator {
  private readonly logger = new Logger(ShutdownCoordinator.name);
  private stopping = false;

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly status: WorkerStatusService,
    private readonly channel: WorkerChannelService,
  ) {}

  install(app: INestApplicationContext): void {
    const stop = (signal: NodeJS.Signals): void => void this.stop(app, signal);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }

  private async stop(app: INestApplicationContext, signal: NodeJS.Signals): Promise<void> {
    if (this.stopping) {
      return;
    }
    this.stopping = true;
    this.status.startDraining();
    this.logger.log({ signal, graceMs: this.config.shutdownGraceMs }, 'Draining before exit');
    // Closing the BullMQ worker waits for its active job, so the whole close is bounded too.
    const deadline = setTimeout(() => {
      this.logger.warn('Grace period over; exiting with work still running');
      process.exit(1);
    }, this.config.shutdownGraceMs + 5_000);
    deadline.unref();
    const drainUntil = Date.now() + this.config.shutdownGraceMs;
    while (this.channel.activeRequests > 0 && Date.now() < drainUntil) {
      await sleep(100);
    }
    await app.close();
    this.logger.log('Stopped');
    process.exit(0);
  }
}
