import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type BackoffOptions, RestartBackoff } from './backoff';
import { SupervisedProcess } from './supervised-process';

const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 100;

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
  ) {
    this.dir = join(stateDir, 'redis');
  }

  get logFile(): string {
    return join(this.dir, 'redis.log');
  }

  /** Starts redis-server and resolves with its URL once it answers PING. */
  async start(): Promise<string> {
    mkdirSync(this.dir, { recursive: true });
    const port = await findFreePort();
    const url = `redis://127.0.0.1:${port}`;
    const server = new SupervisedProcess(
      {
        name: 'redis',
        command: 'redis-server',
        args: [
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
        stdio: ['ignore', 'ignore', 'inherit'],
      },
      this.logger,
      new RestartBackoff(this.backoff),
    );
    this.server = server;
    try {
      await server.start();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('redis-server is not installed (run scripts/ensure-system-deps.sh), or set REDIS_URL to use a running Redis');
      }
      throw error;
    }
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
