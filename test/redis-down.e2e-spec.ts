import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './support/ports';
import { waitFor } from './support/processes';
import { startRedis, type TestRedis } from './support/redis';
import { startStack, type RunningStack } from './support/stack';

/** Every route that needs Redis: the job queue behind self-tests, pulls and the job routes. */
const REDIS_ROUTES: Array<[string, string, unknown?]> = [
  ['POST', '/v1/self-test', { size: 16 }],
  ['POST', '/v1/models/pull', { model: 'org/name' }],
  ['GET', '/v1/jobs'],
  ['GET', '/v1/jobs/some-job'],
  ['DELETE', '/v1/jobs/some-job'],
];

/** What a route must answer within while Redis is away: "a few seconds", never a hang. */
const BOUND_MS = 5_000;

describe('Redis unreachable (real supervisor, API and worker; Redis absent, then started, then stopped)', () => {
  let stack: RunningStack;
  let redisPort: number;
  let redis: TestRedis | undefined;

  /** The JSON lines one process logged about its link to Redis, and any raw ioredis complaint. */
  const redisLines = (service: string, text: string): string[] =>
    stack.supervisor
      .output()
      .split('\n')
      .filter((line) => line.includes(`"service":"${service}"`) && line.includes(text));

  beforeAll(async () => {
    redisPort = await freePort();
    stack = await startStack({ workers: 1, redisUrl: `redis://127.0.0.1:${redisPort}` });
    await waitFor('the API and its worker to answer', async () => (await stack.request('/v1/workers')).body.data?.[0]?.up === true, 60_000);
  });

  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  it('answers 503 with Retry-After within a few seconds on every route that needs Redis, never hanging', async () => {
    for (const [method, path, body] of REDIS_ROUTES) {
      const started = Date.now();
      const answer = await stack.request(path, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
      const where = `${method} ${path}`;
      expect([where, answer.status, answer.body.error?.code]).toEqual([where, 503, 'queue_unavailable']);
      expect([where, Number(answer.headers.get('retry-after')) > 0]).toEqual([where, true]);
      expect([where, Date.now() - started < BOUND_MS]).toEqual([where, true]);
    }
  });

  it('logs the outage once per process through the JSON logger, not a raw ioredis line per retry', async () => {
    // ioredis retries every two seconds or faster; this is several retries' worth.
    await sleep(8_000);
    expect(stack.supervisor.output()).not.toContain('[ioredis]');
    expect(redisLines('api', 'Redis unreachable')).toHaveLength(1);
    expect(redisLines('inference-worker', 'Redis unreachable')).toHaveLength(1);
  });

  it('logs the recovery once, serves the routes again, and logs the next outage once more', async () => {
    redis = await startRedis(redisPort);
    await stack.waitUntilReady(30_000);
    await waitFor('both processes to log the recovery', async () => redisLines('api', 'Redis reachable again').length === 1 && redisLines('inference-worker', 'Redis reachable again').length === 1, 30_000);
    const job = await stack.request('/v1/self-test', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"size":16,"wait_seconds":30}' });
    expect(job.status).toBe(200);
    expect(job.body.status).toBe('completed');

    await redis.stop();
    redis = undefined;
    await waitFor('both processes to log the new outage', async () => redisLines('api', 'Redis unreachable').length === 2 && redisLines('inference-worker', 'Redis unreachable').length === 2, 30_000);
    await sleep(5_000);
    expect(redisLines('api', 'Redis unreachable')).toHaveLength(2);
    expect(redisLines('inference-worker', 'Redis unreachable')).toHaveLength(2);
    const refused = await stack.request('/v1/jobs', { signal: AbortSignal.timeout(30_000) });
    expect(refused.status).toBe(503);
  });
});
