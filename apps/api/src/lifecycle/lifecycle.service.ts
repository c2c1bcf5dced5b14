import { Injectable } from '@nestjs/common';

/** Whether the API is shutting down: readiness turns 503 first, then new work is refused. */
@Injectable()
export class LifecycleService {
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  startDraining(): void {
    this.draining = true;
  }
}
