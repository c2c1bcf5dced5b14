import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import type { Logger } from 'pino';
import { PERMANENT_EXIT_CODES } from '@mlx-omni/supervision';
import { RestartBackoff } from './backoff';

/** A run shorter than this ended during start-up. */
const STARTUP_WINDOW_MS = 10_000;

export interface ProcessSpec {
  /** Names the process in the supervisor's logs: api, worker-1, redis. */
  name: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  stdio: StdioOptions;
}

export interface SupervisionHooks {
  /** Each run's process id, as the run starts. */
  onSpawn?(pid: number): void;
  /**
   * The process is not restarted: it said a restart cannot help (a permanent exit code), or it
   * failed the same way during start-up `giveUpAfter` times in a row. `reason` is one sentence.
   */
  onGiveUp?(reason: string): void;
  /** Identical start-up failures in a row before giving up (default 4). */
  giveUpAfter?: number;
}

/** Resolves true when the promise settles within ms, false when the time runs out first. */
function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * One child process kept running: restarted with backoff whenever it exits without having been
 * asked to, stopped with SIGTERM and then SIGKILL when asked to.
 */
export class SupervisedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private stopRequested = false;
  /** Set by the first successful spawn; before it, a failure belongs to start()'s caller. */
  private hasRun = false;
  private exits = 0;
  /** How the last runs ended during start-up, and how many times in a row it was the same way. */
  private startupFailure: { how: string; times: number } | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly spec: ProcessSpec,
    logger: Logger,
    private readonly backoff: RestartBackoff = new RestartBackoff(),
    private readonly hooks: SupervisionHooks = {},
  ) {
    this.logger = logger.child({ process: spec.name });
  }

  /** How many times the process has exited so far, for whatever reason. */
  get exitCount(): number {
    return this.exits;
  }

  /** The OS process id of the current run, absent between runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Starts the first run. Rejects when the command cannot be started at all (not found, not
   * executable): restarting would only fail the same way, so nothing is retried then.
   */
  async start(): Promise<void> {
    const child = this.spawnChild();
    try {
      await once(child, 'spawn');
    } catch (error) {
      this.stopRequested = true;
      throw error;
    }
  }

  /**
   * Sends SIGTERM, so the process can finish what it is doing, and SIGKILLs it if it is still
   * running after timeoutMs. Resolves once it has exited.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopRequested = true;
    this.cancelRestart();
    const child = this.child;
    if (child === undefined) {
      return;
    }
    child.kill('SIGTERM');
    if (!(await settlesWithin(this.exited, timeoutMs))) {
      this.logger.warn({ timeoutMs }, 'still running after SIGTERM; killing it');
      this.kill();
      await this.exited;
    }
  }

  /**
   * SIGKILLs the process and anything it started, at once. Synchronous so that it also works
   * inside a process 'exit' handler, the last chance to leave no orphans.
   */
  kill(): void {
    this.stopRequested = true;
    this.cancelRestart();
    const pid = this.child?.pid;
    if (pid === undefined) {
      return;
    }
    try {
      // The child leads its own process group (detached), so -pid reaches its descendants too.
      process.kill(-pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
        throw error;
      }
    }
  }

  private spawnChild(): ChildProcess {
    const startedAt = Date.now();
    // detached: its own process group, so a terminal's Ctrl-C reaches only the supervisor, which
    // then stops everything in order (Redis last) rather than all at once.
    const child = spawn(this.spec.command, this.spec.args, {
      env: this.spec.env,
      stdio: this.spec.stdio,
      detached: true,
    });
    this.child = child;
    child.once('spawn', () => {
      this.hasRun = true;
      this.hooks.onSpawn?.(child.pid!);
    });
    this.exited = new Promise((resolve) => {
      let ended = false;
      const end = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
        if (ended) {
          return;
        }
        ended = true;
        this.onExit(Date.now() - startedAt, code, signal, error);
        resolve();
      };
      child.once('exit', (code, signal) => end(code, signal));
      child.on('error', (error) => {
        // Without a pid the process never ran and no 'exit' will follow.
        if (child.pid === undefined) {
          end(null, null, error);
        } else {
          this.logger.error({ err: error }, 'child process error');
        }
      });
    });
    this.logger.debug({ pid: child.pid, command: this.spec.command, args: this.spec.args }, 'started');
    return child;
  }

  private onExit(uptimeMs: number, code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    this.child = undefined;
    this.exits += 1;
    if (!this.hasRun) {
      return;
    }
    if (this.stopRequested) {
      this.logger.info({ code, signal }, 'stopped');
      return;
    }
    const giveUp = this.giveUpReason(uptimeMs, code, signal);
    if (giveUp !== undefined) {
      this.stopRequested = true;
      this.logger.error({ code, signal, uptimeMs }, `${giveUp}; not restarting it`);
      this.hooks.onGiveUp?.(giveUp);
      return;
    }
    const restartInMs = this.backoff.nextDelayMs(uptimeMs);
    this.logger.warn({ code, signal, err: error, uptimeMs, restartInMs }, 'exited unexpectedly; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.spawnChild();
    }, restartInMs);
  }

  /** Why restarting cannot help, or undefined when it may. */
  private giveUpReason(uptimeMs: number, code: number | null, signal: NodeJS.Signals | null): string | undefined {
    const name = this.spec.name;
    if (code !== null && PERMANENT_EXIT_CODES.includes(code)) {
      return `${name} exited with code ${code}, which says it cannot start as configured`;
    }
    if (uptimeMs >= STARTUP_WINDOW_MS) {
      this.startupFailure = undefined;
      return undefined;
    }
    const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
    this.startupFailure = this.startupFailure?.how === how ? { how, times: this.startupFailure.times + 1 } : { how, times: 1 };
    const limit = this.hooks.giveUpAfter ?? 4;
    return this.startupFailure.times >= limit ? `${name} failed during start-up ${limit} times in a row (${how})` : undefined;
  }

  private cancelRestart(): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }
}
