import { formatBytes, formatDuration, PullProgress, type PullJob } from './pull-progress';

const job = (fields: Partial<PullJob>): PullJob => ({ id: 'pull-1', status: 'active', progress: {}, attempts_made: 0, retry_at: null, result: null, error: null, ...fields });

describe('pull progress in plain words', () => {
  it('formats sizes and durations as people read them', () => {
    expect([formatBytes(999), formatBytes(1_500), formatBytes(12_345_678), formatBytes(2.5e9)]).toEqual(['999 B', '1.50 kB', '12.3 MB', '2.50 GB']);
    expect([formatDuration(5), formatDuration(75), formatDuration(3725)]).toEqual(['5s', '1m 15s', '1h 02m']);
  });

  it('draws a bar with bytes, the speed over the last seconds and the time left', () => {
    const progress = new PullProgress(5);
    const at = (done: number) => job({ progress: { bytes_done: done, bytes_total: 1e9, files_done: 1, files_total: 6 } });
    progress.describe(at(0), 0);
    expect(progress.describe(at(100e6), 2_000)).toBe('[##----------------------] 10.0% 100.0 MB of 1.00 GB, 50.0 MB/s, ETA 18s, 1/6 files');
  });

  it('says queued, and "retrying in N s" with the try and the cause, rather than BullMQ’s states', () => {
    const progress = new PullProgress(5);
    expect(progress.describe(job({ status: 'waiting' }), 0)).toBe('queued: waiting for a worker');
    expect(
      progress.describe(job({ status: 'delayed', attempts_made: 1, retry_at: 108, error: { message: 'Could not download org/x from huggingface.co: DNS lookup of huggingface.co failed (ENOTFOUND)' } }), 100_000),
    ).toBe('retrying in 8s (try 2 of 5): Could not download org/x from huggingface.co: DNS lookup of huggingface.co failed (ENOTFOUND)');
  });
});
