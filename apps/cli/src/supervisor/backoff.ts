export interface BackoffOptions {
  /** Delay before the first restart. */
  initialMs: number;
  /** The delay doubles per consecutive crash up to this. */
  maxMs: number;
  /** A process that stayed up this long counts as healthy again: its next crash restarts after initialMs. */
  resetAfterMs: number;
}

/** Fast enough that a one-off crash costs half a second, slow enough that a crash loop does not spin a CPU. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

/** The restart schedule of one supervised process: exponential in consecutive short-lived runs. */
export class RestartBackoff {
  private consecutiveCrashes = 0;

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /** How long to wait before restarting a process that ran for uptimeMs and then exited. */
  nextDelayMs(uptimeMs: number): number {
    if (uptimeMs >= this.options.resetAfterMs) {
      this.consecutiveCrashes = 0;
    }
    const delay = Math.min(this.options.maxMs, this.options.initialMs * 2 ** this.consecutiveCrashes);
    this.consecutiveCrashes += 1;
    return delay;
  }
}
