import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { captureLogger, tempDir } from '../testing/probes';
import { PrivateRedis } from './private-redis';

/** The specs run the real redis-server from PATH, as `npm start` does. */
async function withClient<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

describe('PrivateRedis', () => {
  const started: PrivateRedis[] = [];
  const startRedis = (stateDir: string, env: NodeJS.ProcessEnv = { PATH: process.env.PATH }) => {
    const redis = new PrivateRedis(stateDir, env, captureLogger().logger);
    started.push(redis);
    return redis;
  };

  afterEach(() => {
    started.splice(0).forEach((redis) => redis.kill());
  });

  it('serves on loopback, keeps its data in the state directory across restarts, and stops', async () => {
    const stateDir = tempDir();
    const first = startRedis(stateDir);
    const url = await first.start();
    expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    await withClient(url, (client) => client.set('queued-job', 'payload'));

    await first.stop(5000);
    await expect(withClient(url, (client) => client.ping())).rejects.toThrow();
    expect(existsSync(`${stateDir}/redis/dump.rdb`)).toBe(true);
    expect(existsSync(first.logFile)).toBe(true);

    const second = startRedis(stateDir);
    const secondUrl = await second.start();
    await expect(withClient(secondUrl, (client) => client.get('queued-job'))).resolves.toBe('payload');
    await second.stop(5000);
  });

  it('explains what to do when redis-server is not installed', async () => {
    const redis = startRedis(tempDir(), { PATH: tempDir() });
    await expect(redis.start()).rejects.toThrow('redis-server is not installed (run scripts/ensure-system-deps.sh), or set REDIS_URL');
  });
});
