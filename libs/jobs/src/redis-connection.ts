import type { RedisOptions } from 'ioredis';

function baseOptions(redisUrl: string): RedisOptions {
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: url.port === '' ? 6379 : Number(url.port),
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
    // Cap the reconnect delay so recovery after a Redis restart takes seconds, not minutes.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  };
}

/** For BullMQ workers: blocking commands require `maxRetriesPerRequest: null`; they wait out a Redis outage. */
export function consumerConnectionOptions(redisUrl: string): RedisOptions {
  return { ...baseOptions(redisUrl), maxRetriesPerRequest: null };
}

/**
 * For the API (producers, health, metrics, rate limits): with the offline queue off, a command fails
 * at once while Redis is down, so a request answers 503 instead of hanging until Redis returns; the
 * command timeout bounds a Redis that accepts connections but does not answer (stopped, overloaded).
 */
export function producerConnectionOptions(redisUrl: string): RedisOptions {
  return { ...baseOptions(redisUrl), enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 5_000 };
}
