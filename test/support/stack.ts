import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './ports';
import { spawnLogged, stopProcess, waitFor, type Spawned } from './processes';

/** The built `mlx-omni-server` command line, as `npm start` runs it. */
export const CLI = resolve(__dirname, '..', '..', 'dist', 'apps', 'cli', 'src', 'main.js');

export interface RunningStack {
  baseUrl: string;
  port: number;
  stateDir: string;
  supervisor: Spawned;
  /** GET/POST helper returning status, headers and the parsed body (or text when not JSON). */
  request(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  waitUntilReady(timeoutMs?: number): Promise<void>;
  stop(): Promise<number | null>;
}

export interface StackOptions {
  workers?: number;
  /** Redis to use; without it the supervisor starts its own, as `npm start` does. */
  redisUrl?: string;
  env?: Record<string, string>;
  /** Another stack's state directory (and Hugging Face home), to start a second supervisor on it. */
  stateDir?: string;
  /** The port to serve on; a free one otherwise. */
  port?: number;
}

/**
 * The whole service as users run it: the built `mlx-omni-server serve` supervisor with its API and
 * worker processes, on a free port and a private state directory. Requires `npm run build` first.
 */
export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const port = options.port ?? (await freePort());
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'omni-state-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MLX_OMNI_STATE_DIR: stateDir,
    HF_HOME: join(stateDir, 'hf'),
    MLX_OMNI_LOG_LEVEL: 'info',
    MLX_OMNI_SHUTDOWN_GRACE_MS: '5000',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...options.env,
  };
  if (!options.redisUrl) {
    delete env.REDIS_URL;
  }
  const supervisor = spawnLogged(process.execPath, [CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--workers', String(options.workers ?? 1)], env);
  const baseUrl = `http://127.0.0.1:${port}`;
  const request: RunningStack['request'] = async (path, init) => {
    const response = await fetch(`${baseUrl}${path}`, init);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON (metrics, HTML): the text is the body.
    }
    return { status: response.status, headers: response.headers, body, text };
  };
  const stack: RunningStack = {
    baseUrl,
    port,
    stateDir,
    supervisor,
    request,
    waitUntilReady: (timeoutMs = 60_000) =>
      waitFor('GET /health/ready to answer 200', async () => (await request('/health/ready')).status === 200, timeoutMs).catch((error: Error) => {
        throw new Error(`${error.message}\n--- supervisor output ---\n${supervisor.output().slice(-4000)}`);
      }),
    stop: () => stopProcess(supervisor),
  };
  return stack;
}
