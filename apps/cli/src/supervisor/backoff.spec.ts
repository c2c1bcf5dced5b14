import { DEFAULT_BACKOFF, RestartBackoff } from './backoff';

describe('RestartBackoff', () => {
  it('doubles from 0.5 s up to 30 s while the process keeps crashing at once', () => {
    const backoff = new RestartBackoff();
    const delays = Array.from({ length: 9 }, () => backoff.nextDelayMs(100));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('starts over after a run that lasted the reset period', () => {
    const backoff = new RestartBackoff();
    backoff.nextDelayMs(10);
    backoff.nextDelayMs(10);
    expect(backoff.nextDelayMs(10)).toBe(2000);
    expect(backoff.nextDelayMs(DEFAULT_BACKOFF.resetAfterMs)).toBe(500);
    expect(backoff.nextDelayMs(DEFAULT_BACKOFF.resetAfterMs - 1)).toBe(1000);
  });

  it('follows custom limits', () => {
    const backoff = new RestartBackoff({ initialMs: 100, maxMs: 250, resetAfterMs: 1000 });
    expect([backoff.nextDelayMs(0), backoff.nextDelayMs(0), backoff.nextDelayMs(0)]).toEqual([100, 200, 250]);
  });
});
