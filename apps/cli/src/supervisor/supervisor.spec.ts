import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '@mlx-omni/config';
import { ensureBlasShim } from '@mlx-omni/mlx-native/blas-shim';
import { Redis } from 'ioredis';
import { captureLogger, isAlive, tempDir, waitFor, WRITE_ATOMIC_JS } from '../testing/probes';
import { ECHO_WINDOW_MS, runUntilSignalled } from './run-until-signalled';
import { isLoopback, Supervisor } from './supervisor';

/**
 * Stands in for the API and worker entry scripts: records what it was started with and stays up
 * like a server; exits on SIGTERM unless told to ignore it.
 */
const FAKE_APP = `
const fs = require('fs');
${WRITE_ATOMIC_JS}
const name = process.env.MLX_OMNI_WORKER_ID || 'api';
if (process.env.FAKE_IGNORE_SIGTERM) process.on('SIGTERM', () => {});
else process.on('SIGTERM', () => process.exit(0));
writeAtomic(require('path').join(process.env.FAKE_OUT_DIR, name + '.json'),
  JSON.stringify({ pid: process.pid, redisUrl: process.env.REDIS_URL, port: process.env.PORT, entry: process.argv[1], ldPreload: process.env.LD_PRELOAD,
    mallocTrimThreshold: process.env.MALLOC_TRIM_THRESHOLD_, mallocMmapThreshold: process.env.MALLOC_MMAP_THRESHOLD_ }));
setInterval(() => {}, 1000);
`;

interface Recorded {
  pid: number;
  redisUrl: string;
  port: string;
  entry: string;
  ldPreload?: string;
  mallocTrimThreshold?: string;
  mallocMmapThreshold?: string;
}

async function answersPing(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch {
    return false;
  }
  try {
    return (await client.ping()) === 'PONG';
  } finally {
    client.disconnect();
  }
}

function setUp(extraEnv: NodeJS.ProcessEnv, dir = tempDir(), blasShim?: string) {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'out');
  const apiEntry = join(dir, 'api.js');
  const workerEntry = join(dir, 'worker.js');
  writeFileSync(apiEntry, FAKE_APP);
  writeFileSync(workerEntry, FAKE_APP);
  mkdirSync(out);
  const env = { PATH: process.env.PATH, MLX_OMNI_STATE_DIR: join(dir, 'state'), FAKE_OUT_DIR: out, PORT: '12345', ...extraEnv };
  const config = loadConfig(env);
  const { logger, lines } = captureLogger();
  const backoff = { initialMs: 50, maxMs: 200, resetAfterMs: 60_000 };
  const supervisor = new Supervisor({ config, env, apiEntry, workerEntry, logger, backoff, blasShim });
  const host = new EventEmitter();
  const recorded = (name: string): Recorded | undefined => {
    const file = join(out, `${name}.json`);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Recorded) : undefined;
  };
  return { dir, config, supervisor, host, logger, lines, recorded, apiEntry, workerEntry };
}

describe('Supervisor', () => {
  let supervisor: Supervisor | undefined;

  afterEach(() => {
    supervisor?.kill();
  });

  it('starts a private Redis, the API and the workers, restarts a killed worker, and stops everything on SIGTERM', async () => {
    const setup = setUp({ WORKERS: '2', MLX_OMNI_SHUTDOWN_GRACE_MS: '500' });
    supervisor = setup.supervisor;
    const exitCode = runUntilSignalled(setup.supervisor, captureLogger().logger, setup.host);

    const api = await waitFor('the API', () => setup.recorded('api'));
    const first = await waitFor('worker-1', () => setup.recorded('worker-1'));
    const second = await waitFor('worker-2', () => setup.recorded('worker-2'));
    expect(api).toMatchObject({ entry: setup.apiEntry, port: '12345' });
    expect([first.entry, second.entry]).toEqual([setup.workerEntry, setup.workerEntry]);
    expect(api.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect([first.redisUrl, second.redisUrl]).toEqual([api.redisUrl, api.redisUrl]);
    await expect(answersPing(api.redisUrl)).resolves.toBe(true);
    expect(existsSync(setup.config.workerSocketDir)).toBe(true);

    process.kill(first.pid, 'SIGKILL');
    const restarted = await waitFor('worker-1 to come back', () => {
      const now = setup.recorded('worker-1');
      return now !== undefined && now.pid !== first.pid && now;
    });
    expect(setup.lines.find((line) => line.msg === 'exited unexpectedly; restarting')).toMatchObject({ process: 'worker-1', signal: 'SIGKILL' });

    setup.host.emit('SIGTERM', 'SIGTERM');
    await expect(exitCode).resolves.toBe(0);
    for (const pid of [api.pid, restarted.pid, second.pid]) {
      expect(isAlive(pid)).toBe(false);
    }
    await expect(answersPing(api.redisUrl)).resolves.toBe(false);
  });

  // The shim itself, so the workers really load what they are given (it resolves the BLAS only at a first product).
  const shim = ensureBlasShim();
  const withShim = shim === undefined ? (name: string, test: () => Promise<void>) => it.skip(`${name} [skipped: no BLAS shim, not Linux or no C compiler]`, test) : it;
  withShim('preloads the BLAS shim into the workers only, unless MLX_OMNI_BLAS_SHIM=false', async () => {
    const redisUrl = 'redis://127.0.0.1:6399';
    for (const [setting, expected] of [['true', shim], ['false', undefined]] as const) {
      const setup = setUp({ REDIS_URL: redisUrl, MLX_OMNI_BLAS_SHIM: setting }, tempDir(), shim);
      supervisor = setup.supervisor;
      await setup.supervisor.start();
      const api = await waitFor('the API', () => setup.recorded('api'));
      const worker = await waitFor('worker-1', () => setup.recorded('worker-1'));
      expect([api.ldPreload, worker.ldPreload]).toEqual([undefined, expected]);
      await setup.supervisor.stop();
    }
  });

  const onLinux = process.platform === 'linux' ? it : (name: string, test: () => Promise<void>) => it.skip(`${name} [skipped: glibc settings, Linux only]`, test);
  onLinux('gives only the workers the malloc settings, keeping those the environment sets', async () => {
    const redisUrl = 'redis://127.0.0.1:6399';
    for (const [extraEnv, trim] of [[{}, String(2 ** 30)], [{ MALLOC_TRIM_THRESHOLD_: '4096' }, '4096']] as const) {
      const setup = setUp({ REDIS_URL: redisUrl, ...extraEnv });
      supervisor = setup.supervisor;
      await setup.supervisor.start();
      const api = await waitFor('the API', () => setup.recorded('api'));
      const worker = await waitFor('worker-1', () => setup.recorded('worker-1'));
      expect([worker.mallocTrimThreshold, worker.mallocMmapThreshold]).toEqual([trim, String(2 ** 30)]);
      expect([api.mallocTrimThreshold, api.mallocMmapThreshold]).toEqual([extraEnv.MALLOC_TRIM_THRESHOLD_, undefined]);
      await setup.supervisor.stop();
    }
  });

  it('uses REDIS_URL as given without logging its password, and kills at once on a second Ctrl-C', async () => {
    const redisUrl = 'redis://:s3cret@127.0.0.1:6399';
    const setup = setUp({ REDIS_URL: redisUrl, FAKE_IGNORE_SIGTERM: '1', MLX_OMNI_SHUTDOWN_GRACE_MS: '60000' });
    supervisor = setup.supervisor;
    const exitCode = runUntilSignalled(setup.supervisor, captureLogger().logger, setup.host);

    const api = await waitFor('the API', () => setup.recorded('api'));
    const worker = await waitFor('worker-1', () => setup.recorded('worker-1'));
    expect([api.redisUrl, worker.redisUrl]).toEqual([redisUrl, redisUrl]);
    expect(existsSync(join(setup.config.stateDir, 'redis'))).toBe(false);
    const started = await waitFor('the start-up log line', () => setup.lines.find((line) => line.msg === 'service started'));
    expect(started.redisUrl).toBe('redis://:***@127.0.0.1:6399');

    setup.host.emit('SIGINT', 'SIGINT');
    // The echo of the same Ctrl-C through npm: still a graceful stop, which these apps ignore.
    setup.host.emit('SIGINT', 'SIGINT');
    await sleep(ECHO_WINDOW_MS + 100);
    expect([isAlive(api.pid), isAlive(worker.pid)]).toEqual([true, true]);

    const forcedAt = Date.now();
    setup.host.emit('SIGINT', 'SIGINT');
    await expect(exitCode).resolves.toBe(130);
    await waitFor('the children to die', () => !isAlive(api.pid) && !isAlive(worker.pid), 2000);
    expect(Date.now() - forcedAt).toBeLessThan(2000);
  });

  it('fails start-up with exit code 1 and a fatal log line when Redis cannot start, starting nothing else', async () => {
    const setup = setUp({ PATH: tempDir() });
    supervisor = setup.supervisor;

    await expect(runUntilSignalled(setup.supervisor, setup.logger, setup.host)).resolves.toBe(1);
    // One line that says what to do, without a stack trace.
    expect(setup.lines.filter((line) => line.level === 60)).toEqual([
      expect.objectContaining({ msg: expect.stringContaining('redis-server is not installed') as unknown }),
    ]);
    expect(setup.lines.some((line) => 'err' in line)).toBe(false);
    expect(setup.recorded('api')).toBeUndefined();
  });

  it('refuses a second supervisor on the same state directory with one line naming the first one’s pid and port', async () => {
    const first = setUp({ REDIS_URL: 'redis://127.0.0.1:6399' });
    supervisor = first.supervisor;
    void runUntilSignalled(first.supervisor, captureLogger().logger, first.host);
    const api = await waitFor('the API', () => first.recorded('api'));

    const second = setUp({ REDIS_URL: 'redis://127.0.0.1:6399', PORT: '12346' }, join(first.dir, 'again'));
    const secondSupervisor = new Supervisor({ ...second, config: { ...second.config, stateDir: first.config.stateDir } } as never);
    await expect(runUntilSignalled(secondSupervisor, second.logger, second.host)).resolves.toBe(1);
    expect(second.lines.filter((line) => line.level === 60).map((line) => line.msg)).toEqual([
      `another mlx-omni-server (pid ${process.pid}, port 12345) is running on the state directory ${first.config.stateDir}; stop it first, or give this one its own MLX_OMNI_STATE_DIR`,
    ]);
    expect(second.recorded('api')).toBeUndefined();
    expect(isAlive(api.pid)).toBe(true);
  });

  it('refuses to start on a port in use, with one line naming the setting, starting nothing', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const setup = setUp({ REDIS_URL: 'redis://127.0.0.1:6399', PORT: String(port) });
      supervisor = setup.supervisor;
      await expect(runUntilSignalled(setup.supervisor, setup.logger, setup.host)).resolves.toBe(1);
      expect(setup.lines.filter((line) => line.level === 60).map((line) => line.msg)).toEqual([`port ${port} is in use: set PORT or --port`]);
      expect(setup.recorded('api')).toBeUndefined();
    } finally {
      taken.close();
    }
  });

  it('stops the service with exit code 1 when a child cannot start as configured, instead of restarting it forever', async () => {
    const setup = setUp({ REDIS_URL: 'redis://127.0.0.1:6399', FAKE_EXIT: '78' });
    writeFileSync(setup.apiEntry, `${FAKE_APP.replace("setInterval(() => {}, 1000);", '')}\nprocess.exit(Number(process.env.FAKE_EXIT));`);
    supervisor = setup.supervisor;
    await expect(runUntilSignalled(setup.supervisor, setup.logger, setup.host)).resolves.toBe(1);
    expect(setup.lines.filter((line) => line.level === 60).map((line) => line.msg)).toEqual([
      'api exited with code 78, which says it cannot start as configured; stopping the service',
    ]);
    expect(setup.lines.filter((line) => line.msg === 'exited unexpectedly; restarting')).toEqual([]);
    const worker = setup.recorded('worker-1');
    expect(worker === undefined || !isAlive(worker.pid)).toBe(true);
  });

  it('kills every child, Redis included, when the supervisor process exits', async () => {
    const setup = setUp({ FAKE_IGNORE_SIGTERM: '1' });
    supervisor = setup.supervisor;
    void runUntilSignalled(setup.supervisor, captureLogger().logger, setup.host);
    const api = await waitFor('the API', () => setup.recorded('api'));
    const worker = await waitFor('worker-1', () => setup.recorded('worker-1'));

    setup.host.emit('exit', 1);

    await waitFor('the children to die', () => !isAlive(api.pid) && !isAlive(worker.pid), 2000);
    await expect(answersPing(api.redisUrl)).resolves.toBe(false);
  });
});

describe('isLoopback (whether binding there without keys deserves a warning)', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.20', false],
    ['studio.local', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});
