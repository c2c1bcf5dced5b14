/** A pull job as GET /v1/jobs/{id} shows it; the fields the CLI reads. */
export interface PullJob {
  id: string;
  status: string;
  progress: { bytes_done?: number; bytes_total?: number; files_done?: number; files_total?: number } | number;
  attempts_made: number;
  retry_at: number | null;
  result: { path?: string } | null;
  error: { message: string } | null;
}

/** Bytes as people read them: 1.23 GB, 45.6 MB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** 75 s → "1m 15s"; an hour or more → "1h 02m". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) {
    return `${whole}s`;
  }
  if (whole < 3600) {
    return `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, '0')}s`;
  }
  return `${Math.floor(whole / 3600)}h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

const BAR_WIDTH = 24;
/** Speed is averaged over this window: per-poll deltas jump around with the Hub's chunking. */
const SPEED_WINDOW_MS = 5_000;

/** Turns successive job states into one line: a bar with bytes, speed and ETA, in plain words. */
export class PullProgress {
  private readonly samples: Array<{ at: number; bytes: number }> = [];

  constructor(private readonly attempts: number) {}

  /** The line for the job's state now; `now` in ms. */
  describe(job: PullJob, now: number): string {
    switch (job.status) {
      case 'waiting':
      case 'prioritized':
      case 'waiting-children':
        return 'queued: waiting for a worker';
      case 'delayed': {
        const wait = job.retry_at === null ? '' : ` in ${formatDuration(job.retry_at - now / 1000)}`;
        const cause = job.error === null ? '' : `: ${job.error.message}`;
        return `retrying${wait} (try ${job.attempts_made + 1} of ${this.attempts})${cause}`;
      }
      case 'active':
        return this.bar(job, now);
      default:
        return job.status;
    }
  }

  private bar(job: PullJob, now: number): string {
    const progress = typeof job.progress === 'object' ? job.progress : {};
    const { bytes_done: done = 0, bytes_total: total = 0, files_done: filesDone = 0, files_total: filesTotal = 0 } = progress;
    this.samples.push({ at: now, bytes: done });
    while (this.samples.length > 2 && now - this.samples[0].at > SPEED_WINDOW_MS) {
      this.samples.shift();
    }
    if (total === 0) {
      return 'downloading: listing the files';
    }
    const fraction = Math.min(1, done / total);
    const filled = Math.round(fraction * BAR_WIDTH);
    const first = this.samples[0];
    const seconds = (now - first.at) / 1000;
    const speed = seconds > 0 ? Math.max(0, done - first.bytes) / seconds : 0;
    const eta = speed > 0 ? `, ETA ${formatDuration((total - done) / speed)}` : '';
    return (
      `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(1)}% ` +
      `${formatBytes(done)} of ${formatBytes(total)}, ${formatBytes(speed)}/s${eta}, ${filesDone}/${filesTotal} files`
    );
  }
}
