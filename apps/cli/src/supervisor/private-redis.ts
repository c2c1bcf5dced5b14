import { accessSync, constants, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type BackoffOptions, RestartBackoff } from './backoff';
import { type SupervisionHooks, SupervisedProcess } from './supervised-process';

const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 100;

/**
 * redis-server cannot notice that the supervisor is gone, so it runs under this small Node script
 * that can (the IPC channel closes when the supervisor dies, SIGKILL included; the same rule as
 * whenParentGone in @mlx-omni/supervision, inlined because it must run without the build). It
 * passes signals on, and ends with redis-server's exit code.
 */
const ORPHAN_GUARD_JS = `
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const [command, ...args] = process.argv.slice(1);
const child = spawn(command, args, { stdio: 'inherit' });
child.on('error', (error) => { process.stderr.write(command + ': ' + error.message + '\\n'); process.exit(127); });
child.on('exit', (code, signal) => process.exit(code ?? 128 + constants.signals[signal]));
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
if (process.channel) { process.once('disconnect', () => child.kill('SIGTERM')); process.channel.unref(); }
`;

/** Whether an executable of that name is in one of PATH's folders. */
function onPath(command: string, path: string | undefined): boolean {
  return (path ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Asks the OS for a free loopback port. Another process could take it before redis-server binds it; that is rare and fails start-up loudly. */
async function findFreePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('could not read the port of a loopback listener');
  }
  return address.port;
}

/** True when the server at url answers PING; the reason it did not otherwise. */
async function ping(url: string): Promise<true | Error> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  // ioredis also emits connection failures as events; the awaited calls below report them.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    // Without retries a failed connect leaves the client ended; disconnect() now would only arm
    // ioredis's 2 s timer for a socket that is already closed.
    return error as Error;
  }
  try {
    await client.ping();
    return true;
  } catch (error) {
    return error as Error;
  } finally {
    client.disconnect();
  }
}

/**
 * The redis-server the service starts for itself when REDIS_URL is not set: loopback only, data
 * and log in <stateDir>/redis, restarted like the other processes if it crashes.
 */
export class PrivateRedis {
  private server: SupervisedProcess | undefined;
  readonly dir: string;

  constructor(
    stateDir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logger: Logger,
    private readonly backoff?: BackoffOptions,
    private readonly hooks: SupervisionHooks = {},
  ) {
    this.dir = join(stateDir, 'redis');
  }

  get logFile(): string {
    return join(this.dir, 'redis.log');
  }

  /** Starts redis-server and resolves with its URL once it answers PING. */
  async start(): Promise<string> {
    if (!onPath('redis-server', this.env.PATH)) {
      throw new Error('redis-server is not installed (run scripts/ensure-system-deps.sh), or set REDIS_URL to use a running Redis');
    }
    mkdirSync(this.dir, { recursive: true });
    const port = await findFreePort();
    const url = `redis://127.0.0.1:${port}`;
    const server = new SupervisedProcess(
      {
        name: 'redis',
        command: process.execPath,
        args: [
          '-e', ORPHAN_GUARD_JS,
          'redis-server',
          '--bind', '127.0.0.1',
          '--port', String(port),
          '--dir', this.dir,
          '--daemonize', 'no',
          // Its own log file keeps the service's stdout pure JSON lines.
          '--logfile', this.logFile,
          // Queued jobs survive a restart; snapshots, no AOF: this is a local job queue, not a database.
          '--save', '60 1000',
          '--appendonly', 'no',
          // BullMQ loses jobs if Redis evicts keys, and says so at start unless this is set.
          '--maxmemory-policy', 'noeviction',
        ],
        env: this.env,
        // stderr stays visible: redis-server writes argument errors there before it opens its log.
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      },
      this.logger,
      new RestartBackoff(this.backoff),
      this.hooks,
    );
    this.server = server;
    await server.start();
    await this.waitUntilReady(url, server);
    this.logger.info({ process: 'redis', url, dir: this.dir, logFile: this.logFile }, 'private Redis ready');
    return url;
  }

  stop(timeoutMs: number): Promise<void> {
    return this.server?.stop(timeoutMs) ?? Promise.resolve();
  }

  kill(): void {
    this.server?.kill();
  }

  private async waitUntilReady(url: string, server: SupervisedProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const answer = await ping(url);
      if (answer === true) {
        return;
      }
      if (server.exitCount > 0) {
        throw new Error(`redis-server exited during start-up; see ${this.logFile}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`redis-server did not answer PING at ${url} within ${READY_TIMEOUT_MS} ms (${answer.message}); see ${this.logFile}`);
      }
      await sleep(READY_POLL_MS);
    }
  }
}
