import { QUEUE_SETTINGS, type QueueName } from './contract';

/**
 * How long a job's lock lives unless its worker renews it (at half this). A worker that dies
 * (SIGKILL, a crash in MLX) stops renewing, and BullMQ's stalled-job check puts the job back in
 * the queue for a live worker. With BullMQ's defaults (30 s lock, 30 s check) that took 60-100 s;
 * these make it at most about 25 s. A job must not block its worker's event loop for this long,
 * or it would be taken for stalled while still running.
 */
const LOCK_DURATION_MS = 15_000;
const STALLED_CHECK_MS = 5_000;

/** The options of a queue's `@Processor`, so every processor recovers crashed jobs alike. */
export function processorOptions(queue: QueueName): { concurrency: number; lockDuration: number; stalledInterval: number } {
  return { concurrency: QUEUE_SETTINGS[queue].concurrency, lockDuration: LOCK_DURATION_MS, stalledInterval: STALLED_CHECK_MS };
}
