import type { KeyLimits } from '@mlx-omni/api-keys';
import type { OmniConfig } from '@mlx-omni/config';

export type RateLimits = OmniConfig['rateLimits'];

/** The server's limits with a key's own written over them (a key's 0 lifts that limit for it). */
export function effectiveLimits(server: RateLimits, key: KeyLimits | undefined): RateLimits {
  return {
    requestsPerMinute: key?.rpm ?? server.requestsPerMinute,
    tokensPerMinute: key?.tpm ?? server.tokensPerMinute,
    concurrent: key?.concurrency ?? server.concurrent,
  };
}

/** Whether any limit applies (0 everywhere means nothing to count). */
export function anyLimit(limits: RateLimits): boolean {
  return limits.concurrent > 0 || limits.requestsPerMinute > 0 || limits.tokensPerMinute > 0;
}

/** Requests and tokens are counted in fixed one-minute windows, aligned to the clock so every API process agrees. */
export const WINDOW_MS = 60_000;

/** What a key has used: requests in flight now, requests and generated tokens in the current window. */
export interface Usage {
  inFlight: number;
  requests: number;
  tokens: number;
}

/** The limit that refused a request, in the order they are checked. */
export type Refusal = 'concurrent' | 'requests' | 'tokens';

export function windowStart(nowMs: number): number {
  return nowMs - (nowMs % WINDOW_MS);
}

export function msUntilWindowEnds(nowMs: number): number {
  return windowStart(nowMs) + WINDOW_MS - nowMs;
}

/**
 * Which limit the key has reached before this request (0 means no limit). Tokens are only known once
 * a generation finishes, so a key may overshoot its token limit by one request; the next one waits.
 */
export function refusalOf(limits: RateLimits, usage: Usage): Refusal | undefined {
  if (limits.concurrent > 0 && usage.inFlight >= limits.concurrent) {
    return 'concurrent';
  }
  if (limits.requestsPerMinute > 0 && usage.requests >= limits.requestsPerMinute) {
    return 'requests';
  }
  if (limits.tokensPerMinute > 0 && usage.tokens >= limits.tokensPerMinute) {
    return 'tokens';
  }
  return undefined;
}

/** OpenAI's duration style for x-ratelimit-reset-*: "1m30s", "6s", "120ms". */
export function formatReset(ms: number): string {
  if (ms < 1000) {
    return `${Math.max(0, Math.ceil(ms))}ms`;
  }
  const seconds = Math.ceil(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes}m${seconds % 60}s` : `${seconds}s`;
}

/** OpenAI's x-ratelimit-* headers for the limits that are set, after this request was counted. */
export function rateLimitHeaders(limits: RateLimits, usage: Usage, nowMs: number): Record<string, string> {
  const reset = formatReset(msUntilWindowEnds(nowMs));
  const headers: Record<string, string> = {};
  if (limits.requestsPerMinute > 0) {
    headers['x-ratelimit-limit-requests'] = String(limits.requestsPerMinute);
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, limits.requestsPerMinute - usage.requests));
    headers['x-ratelimit-reset-requests'] = reset;
  }
  if (limits.tokensPerMinute > 0) {
    headers['x-ratelimit-limit-tokens'] = String(limits.tokensPerMinute);
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, limits.tokensPerMinute - usage.tokens));
    headers['x-ratelimit-reset-tokens'] = reset;
  }
  return headers;
}

/** Seconds a refused client should wait: a slot frees up soon; a window limit lifts when the window ends. */
export function retryAfterSeconds(refusal: Refusal, nowMs: number): number {
  return refusal === 'concurrent' ? 1 : Math.max(1, Math.ceil(msUntilWindowEnds(nowMs) / 1000));
}
