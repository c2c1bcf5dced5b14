import { mkdirSync } from 'node:fs';
import type { OmniConfig } from '@mlx-omni/config';
import type { Logger } from 'pino';
import { type BackoffOptions, RestartBackoff } from './backoff';
import { PrivateRedis } from './private-redis';
import { SupervisedProcess } from './supervised-process';

/** Names each worker process (worker-1, worker-2...); set by the supervisor, never by the user. */
/** Addresses only this machine can reach; anything else (0.0.0.0, ::, a LAN address) is the network. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export const WORKER_ID_VARIABLE = 'MLX_OMNI_WORKER_ID';

/** Room, beyond the apps' own drain period, for them to close connections and flush logs. */
const STOP_MARGIN_MS = 5_000;
/** redis-server writes its snapshot on SIGTERM; a queue's worth of data takes far less. */
const REDIS_STOP_MS = 10_000;

/** The URL fit for a log line: a REDIS_URL may carry a password. */
function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') {
    parsed.password = '***';
  }
  return parsed.toString();
}

export interface SupervisorOptions {
  config: OmniConfig;
  /** The environment every child gets: the caller's, with the command-line flags merged in. */
  env: NodeJS.ProcessEnv;
  /** Compiled entry scripts, run with this Node. */
  apiEntry: string;
  workerEntry: string;
  logger: Logger;
  backoff?: BackoffOptions;
}

/**
 * Runs the whole service: a private Redis unless REDIS_URL names one, the API, and the inference
 * workers; keeps them running, and stops them in order, Redis last since draining work still uses it.
 */
export class Supervisor {
  private redis: PrivateRedis | undefined;
  private apps: SupervisedProcess[] = [];
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: SupervisorOptions) {}

  /** True once stop() or kill() has been called. */
  get stopRequested(): boolean {
    return this.stopping !== undefined;
  }

  /** Starts everything; rejects when something cannot start, leaving the caller to stop() what did. */
  start(): Promise<void> {
    this.starting ??= this.startAll();
    return this.starting;
  }

  /**
   * Asks the API and the workers to drain and exit (SIGTERM), kills those still running after the
   * grace period, then stops the private Redis. Safe to call at any time, including during start().
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  /** Kills every child now, synchronously: for a second Ctrl-C and for the supervisor's own 'exit'. */
  kill(): void {
    this.stopping ??= Promise.resolve();
    for (const app of this.apps) {
      app.kill();
    }
    this.redis?.kill();
  }

  private async startAll(): Promise<void> {
    const { config, logger } = this.options;
    let redisUrl = config.redisUrl;
    if (redisUrl === undefined) {
      this.redis = new PrivateRedis(config.stateDir, this.options.env, logger, this.options.backoff);
      redisUrl = await this.redis.start();
    }
    if (this.stopRequested) {
      return;
    }
    // Workers create their sockets here and the API lists it, so it must exist before either runs.
    mkdirSync(config.workerSocketDir, { recursive: true });
    const env = { ...this.options.env, REDIS_URL: redisUrl };
    const node = process.execPath;
    this.apps = [
      // The API replaces the error handler Nest gives Fastify, on purpose (apps/api/src/http-server.ts); Fastify would warn at every start.
      this.supervise('api', node, this.options.apiEntry, env, ['--disable-warning=FSTWRN004']),
      ...Array.from({ length: config.workers }, (_, index) => {
        const workerId = `worker-${index + 1}`;
        // --expose-gc lets generation collect a prefill chunk's intermediates at once (libs/mlx-native README).
        return this.supervise(workerId, node, this.options.workerEntry, { ...env, [WORKER_ID_VARIABLE]: workerId }, ['--expose-gc']);
      }),
    ];
    await Promise.all(this.apps.map((app) => app.start()));
    logger.info({ port: config.port, host: config.host, workers: config.workers, redisUrl: redactPassword(redisUrl) }, 'service started');
    if (!isLoopback(config.host) && config.apiKey === undefined && config.keysFile === undefined) {
      logger.warn(
        { host: config.host },
        'The API listens beyond this machine with no API keys: anyone on the network can use it. Set MLX_OMNI_API_KEY or MLX_OMNI_KEYS_FILE.',
      );
    }
  }

  private supervise(name: string, node: string, entry: string, env: NodeJS.ProcessEnv, nodeFlags: string[] = []): SupervisedProcess {
    return new SupervisedProcess(
      // Source maps turn stack traces from dist/ back into TypeScript lines.
      { name, command: node, args: ['--enable-source-maps', ...nodeFlags, entry], env, stdio: ['ignore', 'inherit', 'inherit'] },
      this.options.logger,
      new RestartBackoff(this.options.backoff),
    );
  }

  private async stopAll(): Promise<void> {
    // Let a start in progress finish first: the processes it is bringing up must be stopped too.
    await Promise.allSettled([this.starting]);
    const graceMs = this.options.config.shutdownGraceMs + STOP_MARGIN_MS;
    await Promise.all(this.apps.map((app) => app.stop(graceMs)));
    await this.redis?.stop(REDIS_STOP_MS);
  }
}
