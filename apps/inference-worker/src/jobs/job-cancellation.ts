import { Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';

/**
 * The jobs this worker runs that can be stopped midway (downloads, speech, images), by id. The API's DELETE
 * /v1/jobs/{id} asks every worker over IPC; the one running the job aborts it, and its processor
 * fails it for good, so it is not retried.
 */
@Injectable()
export class JobCancellation {
  private readonly logger = new Logger(JobCancellation.name);
  private readonly running = new Map<string, AbortController>();

  /**
   * Runs a job's `work` with its cancellation signal. A cancelled job fails for good (an
   * UnrecoverableError naming `what` and the reason, so BullMQ does not retry it); any other error
   * goes through `failed`, the processor's mapping of client errors.
   */
  async run<T>(jobId: string, what: string, work: (signal: AbortSignal) => Promise<T>, failed: (error: unknown) => unknown): Promise<T> {
    const signal = this.begin(jobId);
    try {
      return await work(signal);
    } catch (error) {
      if (signal.aborted) {
        const reason = (signal.reason as Error).message;
        this.logger.log({ jobId, reason }, `${what} cancelled`);
        throw new UnrecoverableError(`${what} ${reason}`);
      }
      throw failed(error);
    } finally {
      this.end(jobId);
    }
  }

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
