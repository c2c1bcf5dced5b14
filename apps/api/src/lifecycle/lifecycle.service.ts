import { Injectable } from '@nestjs/common';
import type { ServerResponse } from 'node:http';

/** Whether the API is shutting down: readiness turns 503 first, then new work is refused. */
@Injectable()
export class LifecycleService {
  private draining = false;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  get isDraining(): boolean {
    return this.draining;
  }

  startDraining(): void {
    this.draining = true;
  }

  /** Counts a request as in flight until its response closes, whether it finished or the client left. */
  track(response: ServerResponse): void {
    this.inFlight += 1;
    response.once('close', () => {
      this.inFlight -= 1;
      if (this.inFlight === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        waiters.forEach((wake) => wake());
      }
    });
  }

  /** Resolves the next time no request is in flight. */
  whenIdle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
