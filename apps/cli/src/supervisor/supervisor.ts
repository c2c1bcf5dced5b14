import { mkdirSync } from 'node:fs';
import type { OmniConfig } from '@mlx-omni/config';
import { redactRedisUrl } from '@mlx-omni/jobs';
import { withBlasShimPreloaded } from '@mlx-omni/mlx-native/blas-shim';
import type { Logger } from 'pino';
import { type BackoffOptions, RestartBackoff } from './backoff';
import { checkListenAddress, StartupRefusal } from './preflight';
import { PrivateRedis } from './private-redis';
import { announceWhenReady } from './ready-announcer';
import { ChildrenFile, StateDirBusyError, StateDirLock } from './state-dir';
import { type SupervisionHooks, SupervisedProcess } from './supervised-process';

/** Addresses only this machine can reach; anything else (0.0.0.0, ::, a LAN address) is the network. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Names each worker process (worker-1, worker-2...); set by the supervisor, never by the user. */
export const WORKER_ID_VARIABLE = 'MLX_OMNI_WORKER_ID';

/** Room, beyond the apps' own drain period, for them to close connections and flush logs. */
const STOP_MARGIN_MS = 5_000;
/** redis-server writes its snapshot on SIGTERM; a queue's worth of data takes far less. */
const REDIS_STOP_MS = 10_000;

/**
 * glibc's malloc for the workers on Linux, where the CPU backend takes every array from it. A forward pass's
 * intermediates live until the garbage collector frees them, so a prefill chunk asks for hundreds of MB at
 * once; by default glibc maps buffers over 32 MB (and at first over 128 KB) afresh and hands freed memory back
 * to the system, and faulting it in again cost about 3 ms per MB in the development VM. Served from glibc's
 * heaps and kept (up to 1 GiB free) for the next chunk, a cold 1,507-token prompt took 4.1 s instead of 9.1 s
 * (the same build, bench:batch on the ~100M fixture). Setting only the trim threshold turns off glibc's sliding
 * mmap threshold, which made every buffer over 128 KB a fresh mapping. Values the environment already sets win.
 */
const WORKER_MALLOC_SETTINGS = { MALLOC_MMAP_THRESHOLD_: String(2 ** 30), MALLOC_TRIM_THRESHOLD_: String(2 ** 30) };

export interface SupervisorOptions {
  config: OmniConfig;
  /** The environment every child gets: the caller's, with the command-line flags merged in. */
  env: NodeJS.ProcessEnv;
  /** Compiled entry scripts, run with this Node. */
  apiEntry: string;
  workerEntry: string;
  logger: Logger;
  backoff?: BackoffOptions;
  /** Identical start-up failures of a child before the service gives up (SupervisedProcess's default otherwise). */
  giveUpAfter?: number;
  /** The built BLAS shim (Linux), preloaded into the workers unless config.blasShim is off; undefined when there is none. */
  blasShim?: string;
}

/**
 * Runs the whole service: a private Redis unless REDIS_URL names one, the API, and the inference
 * workers; keeps them running, and stops them in order, Redis last since draining work still uses it.
 * Owns its state directory while it runs (one supervisor per directory), and records its children
 * there so that those of a supervisor that was killed are stopped by the next.
 */
export class Supervisor {
  private redis: PrivateRedis | undefined;
  private apps: SupervisedProcess[] = [];
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private lock: StateDirLock | undefined;
  private readonly children: ChildrenFile;
  private readonly announcing = new AbortController();
  private reportFailure: (reason: string) => void = () => undefined;
  /** Settles with a sentence when a child cannot be kept running (it fails the same way at every start). */
  readonly failed: Promise<string>;

  constructor(private readonly options: SupervisorOptions) {
    this.children = new ChildrenFile(options.config.stateDir);
    this.failed = new Promise((resolve) => {
      this.reportFailure = resolve;
    });
  }

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
    this.announcing.abort();
    for (const app of this.apps) {
      app.kill();
    }
    this.redis?.kill();
    this.releaseStateDir();
  }

  private async startAll(): Promise<void> {
    const { config, logger } = this.options;
    try {
      this.lock = StateDirLock.acquire(config.stateDir, { host: config.host, port: config.port });
    } catch (error) {
      throw error instanceof StateDirBusyError ? new StartupRefusal(error.message) : error;
    }
    await this.children.stopLeftovers(logger);
    await checkListenAddress(config.host, config.port);
    if (!isLoopback(config.host) && config.apiKey === undefined && config.keysFile === undefined) {
      logger.warn(
        { host: config.host },
        'The API listens beyond this machine with no API keys: anyone on the network can use it. Set MLX_OMNI_API_KEY or MLX_OMNI_KEYS_FILE.',
      );
    }
    let redisUrl = config.redisUrl;
    if (redisUrl === undefined) {
      this.redis = new PrivateRedis(config.stateDir, this.options.env, logger, this.options.backoff, this.hooksFor('redis'));
      try {
        redisUrl = await this.redis.start();
      } catch (error) {
        throw /not installed/.test((error as Error).message) ? new StartupRefusal((error as Error).message) : error;
      }
    }
    if (this.stopRequested) {
      return;
    }
    // Workers create their sockets here and the API lists it, so it must exist before either runs.
    mkdirSync(config.workerSocketDir, { recursive: true });
    const env = { ...this.options.env, REDIS_URL: redisUrl };
    const workerEnv = this.workerEnvironment(env);
    const node = process.execPath;
    this.apps = [
      // The API replaces the error handler Nest gives Fastify, on purpose (apps/api/src/http-server.ts); Fastify would warn at every start.
      this.supervise('api', node, this.options.apiEntry, env, ['--disable-warning=FSTWRN004']),
      ...Array.from({ length: config.workers }, (_, index) => {
        const workerId = `worker-${index + 1}`;
        // --expose-gc lets generation collect a prefill chunk's intermediates at once (libs/mlx-native README).
        return this.supervise(workerId, node, this.options.workerEntry, { ...workerEnv, [WORKER_ID_VARIABLE]: workerId }, ['--expose-gc']);
      }),
    ];
    await Promise.all(this.apps.map((app) => app.start()));
    logger.debug({ port: config.port, host: config.host, workers: config.workers, redisUrl: redactRedisUrl(redisUrl) }, 'service started');
    void announceWhenReady(config, logger, this.announcing.signal);
  }

  /** Only the workers run MLX, so only they get its BLAS shim and malloc settings; the API and Redis keep the environment as it is. */
  private workerEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const { blasShim, config } = this.options;
    const withShim = blasShim === undefined || !config.blasShim ? env : { ...env, LD_PRELOAD: withBlasShimPreloaded(env['LD_PRELOAD'], blasShim) };
    return process.platform === 'linux' ? { ...WORKER_MALLOC_SETTINGS, ...withShim } : withShim;
  }

  private hooksFor(name: string): SupervisionHooks {
    return {
      onSpawn: (pid) => this.children.started(name, pid),
      onGiveUp: (reason) => this.reportFailure(reason),
      giveUpAfter: this.options.giveUpAfter,
    };
  }

  private supervise(name: string, node: string, entry: string, env: NodeJS.ProcessEnv, nodeFlags: string[] = []): SupervisedProcess {
    return new SupervisedProcess(
      // Source maps turn stack traces from dist/ back into TypeScript lines. The IPC channel only
      // tells the child when the supervisor is gone (whenParentGone), so no child outlives it.
      { name, command: node, args: ['--enable-source-maps', ...nodeFlags, entry], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      this.options.logger,
      new RestartBackoff(this.options.backoff),
      this.hooksFor(name),
    );
  }

  private async stopAll(): Promise<void> {
    this.announcing.abort();
    // Let a start in progress finish first: the processes it is bringing up must be stopped too.
    await Promise.allSettled([this.starting]);
    const graceMs = this.options.config.shutdownGraceMs + STOP_MARGIN_MS;
    await Promise.all(this.apps.map((app) => app.stop(graceMs)));
    await this.redis?.stop(REDIS_STOP_MS);
    this.releaseStateDir();
  }

  private releaseStateDir(): void {
    if (this.lock === undefined) {
      return;
    }
    this.children.clear();
    this.lock.release();
    this.lock = undefined;
  }
}
