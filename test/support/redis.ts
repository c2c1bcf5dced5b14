import Redis from 'ioredis';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';
import { spawnLogged, stopProcess, waitFor, type Spawned } from './processes';

export interface TestRedis {
  url: string;
  port: number;
  process: Spawned;
  stop(): Promise<void>;
}

/** A real redis-server on a free loopback port, with no persistence, for one test file. */
export async function startRedis(port?: number): Promise<TestRedis> {
  const chosen = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'omni-redis-'));
  const spawned = spawnLogged('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], process.env);
  const url = `redis://127.0.0.1:${chosen}`;
  await waitFor(`redis-server on port ${chosen}`, async () => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } finally {
      client.disconnect();
    }
  });
  return {
    url,
    port: chosen,
    process: spawned,
    stop: async () => {
      await stopProcess(spawned);
    },
  };
}
