import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './support/ports';
import { spawnLogged, stopProcess, waitFor, type Spawned } from './support/processes';
import { startRedis, type TestRedis } from './support/redis';

const DIST = resolve(__dirname, '..', 'dist', 'apps');

describe('readiness follows the workers (API and worker started by hand, no supervisor)', () => {
  let redis: TestRedis;
  let api: Spawned;
  let worker: Spawned | undefined;
  let baseUrl: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    redis = await startRedis();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    env = { ...process.env, REDIS_URL: redis.url, PORT: String(port), MLX_OMNI_STATE_DIR: mkdtempSync(join(tmpdir(), 'omni-ready-')) };
    api = spawnLogged(process.execPath, [join(DIST, 'api', 'src', 'main.js')], env);
    await waitFor('the API to answer /health', async () => (await fetch(`${baseUrl}/health`)).ok);
  });

  afterAll(async () => {
    if (worker) {
      await stopProcess(worker);
    }
    await stopProcess(api);
    await redis.stop();
  });

  it('is live but not ready while no worker answers, and names the failing check', async () => {
    const response = await fetch(`${baseUrl}/health/ready`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as any;
    expect(body.error).toMatchObject({ type: 'server_error', code: 'not_ready' });
    expect(body.error.message).toMatch(/workers \(no inference worker is answering\)/);
    expect(body.error.message).not.toMatch(/redis/);
    expect(body.details.workers).toMatchObject({ status: 'down', up: 0 });
  });

  it('turns ready once a worker starts, and not ready again when it stops', async () => {
    worker = spawnLogged(process.execPath, [join(DIST, 'inference-worker', 'src', 'main.js')], { ...env, MLX_OMNI_WORKER_ID: 'worker-a' });
    await waitFor('readiness with one worker', async () => (await fetch(`${baseUrl}/health/ready`)).status === 200);
    expect(await stopProcess(worker)).toBe(0);
    await waitFor('readiness to drop after the worker exits', async () => (await fetch(`${baseUrl}/health/ready`)).status === 503);
  });

  it('a bad setting stops start-up with one line naming the setting', async () => {
    const bad = spawnLogged(process.execPath, [join(DIST, 'api', 'src', 'main.js')], { ...env, PORT: 'eighty' });
    expect(await bad.exited).toBe(2);
    expect(bad.output().trim()).toBe('api: Invalid configuration: PORT must be a whole number, got "eighty"');
  });
});
