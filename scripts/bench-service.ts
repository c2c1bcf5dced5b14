/**
 * The service as users start it, for the benchmarks that measure through HTTP: the built
 * `mlx-omni-server serve` with one worker, a private state directory, loopback, no Redis.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BenchService {
  baseUrl: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 120_000;

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** Starts the service on the fixtures in `hub` and resolves once `/health/ready` answers. */
export async function startService(hub: string): Promise<BenchService> {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), 'omni-bench-'));
  const cli = resolve(__dirname, '..', 'apps', 'cli', 'src', 'main.js');
  const env: NodeJS.ProcessEnv = { ...process.env, MLX_OMNI_STATE_DIR: stateDir, HF_HUB_CACHE: hub, MLX_OMNI_LOG_LEVEL: 'warn' };
  delete env.REDIS_URL;
  const child = spawn(process.execPath, [cli, 'serve', '--port', String(port), '--host', '127.0.0.1', '--workers', '1'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = await fetch(`${baseUrl}/health/ready`).then((response) => response.ok, () => false);
    if (ready) {
      break;
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`The service did not become ready within ${READY_TIMEOUT_MS / 1000} s`);
    }
    await sleep(250);
  }
  return {
    baseUrl,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
