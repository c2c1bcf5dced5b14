import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Caller } from '@mlx-omni/api-keys';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { CallerContext } from '../auth/caller-context';
import { ApiError } from '../common/errors/api-error';
import { REDIS_CLIENT } from '../redis/redis.module';
import { anyLimit, effectiveLimits, rateLimitHeaders, refusalOf, retryAfterSeconds, WINDOW_MS, windowStart, type RateLimits, type Refusal, type Usage } from './rate-limit-window';

/**
 * An in-flight request holds a lease that expires unless renewed, so the slots of an API process
 * that died mid-request free themselves within a minute instead of blocking the key for good.
 */
const LEASE_MS = 60_000;
const RENEW_MS = LEASE_MS / 3;

/** An admitted request: the headers to send and what to call when its response is over. */
export interface Admission {
  headers: Record<string, string>;
  release(): void;
}

const OPEN: Admission = { headers: {}, release: () => undefined };

const DESCRIBE: Record<Refusal, (config: OmniConfig['rateLimits']) => string> = {
  concurrent: (limits) => `${limits.concurrent} requests at once`,
  requests: (limits) => `${limits.requestsPerMinute} requests per minute`,
  tokens: (limits) => `${limits.tokensPerMinute} generated tokens per minute`,
};

/**
 * Per-key limits kept in Redis, so several API processes share one count. Redis being down must not
 * stop chat (which runs over IPC), so every limit then fails open with a warning.
 */
@Injectable()
export class RateLimitService {
  private readonly logger = new Logger(RateLimitService.name);
  private readonly limits: OmniConfig['rateLimits'];
  /** Set while Redis fails, so the warning is logged once per outage rather than once per request. */
  private failingOpen = false;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(OMNI_CONFIG) config: OmniConfig,
    private readonly callers: CallerContext,
  ) {
    this.limits = config.rateLimits;
  }

  /** The limits that apply to this caller: the server's, with the key's own (from the keys file) over them. */
  limitsOf(caller: Caller): RateLimits {
    return effectiveLimits(this.limits, caller.limits);
  }

  /** Counts the request against the key's limits, or throws the 429 naming the limit it reached. */
  async admit(caller: Caller): Promise<Admission> {
    const limits = this.limitsOf(caller);
    if (!anyLimit(limits)) {
      return OPEN;
    }
    const keyName = caller.name;
    const now = Date.now();
    const keys = redisKeys(keyName, now);
    const lease = randomUUID();
    let usage: Usage;
    try {
      // Take a ticket first and judge by the usage before it: MULTI makes each request see a distinct
      // count, so two racing requests can never both take the last slot.
      const replies = await this.redis
        .multi()
        .zremrangebyscore(keys.inFlight, '-inf', now)
        .zadd(keys.inFlight, now + LEASE_MS, lease)
        .pexpire(keys.inFlight, LEASE_MS)
        .zcard(keys.inFlight)
        .incr(keys.requests)
        .pexpire(keys.requests, 2 * WINDOW_MS)
        .get(keys.tokens)
        .exec();
      const value = (index: number): number => Number(replies![index][1] ?? 0);
      usage = { inFlight: value(3) - 1, requests: value(4) - 1, tokens: value(6) };
      this.recovered();
    } catch (error) {
      this.failOpen(error);
      return OPEN;
    }
    const refusal = refusalOf(limits, usage);
    if (refusal !== undefined) {
      await this.redis
        .multi()
        .zrem(keys.inFlight, lease)
        .decr(keys.requests)
        .exec()
        .catch((error: unknown) => this.failOpen(error));
      throw new ApiError(429, `Rate limit reached for key "${keyName}": ${DESCRIBE[refusal](limits)}. Retry shortly.`, {
        code: 'rate_limit_exceeded',
        headers: { ...rateLimitHeaders(limits, usage, now), 'retry-after': String(retryAfterSeconds(refusal, now)) },
      });
    }
    return {
      headers: rateLimitHeaders(limits, { ...usage, inFlight: usage.inFlight + 1, requests: usage.requests + 1 }, now),
      release: this.holdLease(keys.inFlight, lease),
    };
  }

  /**
   * Charges the current caller's key for the tokens `count` reads from a request's result once it is
   * known (embeddings and rerank: the tokens the model read, which is their whole cost). A failed
   * request charges nothing. Takes the result itself, not a derived promise, so a failure the
   * caller handles leaves no unhandled rejection behind.
   */
  chargeTokens<R>(result: Promise<R>, count: (result: R) => number): void {
    const caller = this.callers.current();
    if (caller === undefined || this.limitsOf(caller).tokensPerMinute === 0) {
      return;
    }
    result.then(
      (value) => {
        const key = redisKeys(caller.name, Date.now()).tokens;
        this.redis
          .multi()
          .incrby(key, count(value))
          .pexpire(key, 2 * WINDOW_MS)
          .exec()
          .catch((error: unknown) => this.failOpen(error));
      },
      () => undefined,
    );
  }

  /** Keeps the lease alive while the request runs; the returned function ends it. */
  private holdLease(inFlightKey: string, lease: string): () => void {
    const renew = setInterval(() => {
      this.redis.zadd(inFlightKey, 'XX', Date.now() + LEASE_MS, lease).catch((error: unknown) => this.failOpen(error));
    }, RENEW_MS);
    renew.unref();
    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      clearInterval(renew);
      this.redis.zrem(inFlightKey, lease).catch((error: unknown) => this.failOpen(error));
    };
  }

  private failOpen(error: unknown): void {
    if (!this.failingOpen) {
      this.failingOpen = true;
      this.logger.warn({ err: error }, 'Redis unavailable: rate limits are not enforced until it returns');
    }
  }

  private recovered(): void {
    if (this.failingOpen) {
      this.failingOpen = false;
      this.logger.log('Redis back: rate limits enforced again');
    }
  }
}

/** The braces are a Redis Cluster hash tag: one key's counters live on one node. */
function redisKeys(keyName: string, nowMs: number): { inFlight: string; requests: string; tokens: string } {
  const base = `mlx-omni:ratelimit:{${keyName}}`;
  const window = windowStart(nowMs);
  return { inFlight: `${base}:in-flight`, requests: `${base}:requests:${window}`, tokens: `${base}:tokens:${window}` };
}
