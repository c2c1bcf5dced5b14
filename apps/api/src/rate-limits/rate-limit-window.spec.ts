import { effectiveLimits, formatReset, rateLimitHeaders, refusalOf, retryAfterSeconds, windowStart } from './rate-limit-window';

const limits = { requestsPerMinute: 10, tokensPerMinute: 1000, concurrent: 2 };
// 12:00:45.250 UTC: 14.75 s left in the minute's window.
const now = Date.UTC(2026, 0, 1, 12, 0, 45, 250);

describe('rate limit arithmetic', () => {
  it('aligns windows to the clock minute, so every API process counts into the same one', () => {
    expect(windowStart(now)).toBe(Date.UTC(2026, 0, 1, 12, 0, 0));
    expect(windowStart(Date.UTC(2026, 0, 1, 12, 1, 0))).toBe(Date.UTC(2026, 0, 1, 12, 1, 0));
  });

  it.each([
    [{ inFlight: 1, requests: 9, tokens: 999 }, undefined],
    [{ inFlight: 2, requests: 0, tokens: 0 }, 'concurrent'],
    [{ inFlight: 0, requests: 10, tokens: 0 }, 'requests'],
    [{ inFlight: 0, requests: 0, tokens: 1000 }, 'tokens'],
    // The tightest-lived limit is reported first: a free slot comes back before the window ends.
    [{ inFlight: 2, requests: 10, tokens: 1000 }, 'concurrent'],
  ])('usage %j before the request is refused by %s', (usage, refusal) => {
    expect(refusalOf(limits, usage)).toBe(refusal);
  });

  it('lets a key’s own limits from the keys file override the server’s, 0 lifting one', () => {
    expect(effectiveLimits(limits, undefined)).toEqual(limits);
    expect(effectiveLimits(limits, { rpm: 600, tpm: 0 })).toEqual({ requestsPerMinute: 600, tokensPerMinute: 0, concurrent: 2 });
  });

  it('treats 0 as no limit', () => {
    expect(refusalOf({ requestsPerMinute: 0, tokensPerMinute: 0, concurrent: 0 }, { inFlight: 1e6, requests: 1e6, tokens: 1e9 })).toBeUndefined();
  });

  it.each([
    [0, '0ms'],
    [120.2, '121ms'],
    [1000, '1s'],
    [14_750, '15s'],
    [60_000, '1m0s'],
    [90_500, '1m31s'],
  ])('formats %d ms as OpenAI does: %s', (ms, text) => {
    expect(formatReset(ms)).toBe(text);
  });

  it('sends the x-ratelimit-* headers of the limits that are set, never a negative remainder', () => {
    expect(rateLimitHeaders(limits, { inFlight: 1, requests: 4, tokens: 1200 }, now)).toEqual({
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '6',
      'x-ratelimit-reset-requests': '15s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '15s',
    });
    expect(rateLimitHeaders({ ...limits, tokensPerMinute: 0, requestsPerMinute: 0 }, { inFlight: 0, requests: 1, tokens: 0 }, now)).toEqual({});
  });

  it('asks a refused client to retry when a slot frees (1 s) or when the window ends', () => {
    expect(retryAfterSeconds('concurrent', now)).toBe(1);
    expect(retryAfterSeconds('requests', now)).toBe(15);
    expect(retryAfterSeconds('tokens', windowStart(now) + 59_999)).toBe(1);
  });
});
