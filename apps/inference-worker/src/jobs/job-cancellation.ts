import { Injectable } from '@nestjs/common';

/**
 * The jobs this worker runs that can be stopped midway (downloads), by id. The API's DELETE
 * /v1/jobs/{id} asks every worker over IPC; the one running the job aborts it, and its processor
 * fails it for good, so it is not retried.
 */
@Injectable()
export class JobCancellation {
  private readonly running = new Map<string, AbortController>();

  /** Called by a processor as a job starts; the signal aborts with the reason when it is cancelled. */
  begin(jobId: string): AbortSignal {
    const controller = new AbortController();
    this.running.set(jobId, controller);
    return controller.signal;
  }

  end(jobId: string): void {
    this.running.delete(jobId);
  }

  cancel(jobId: string, reason: string): boolean {
    const controller = this.running.get(jobId);
    controller?.abort(new Error(reason));
    return controller !== undefined;
  }
}
