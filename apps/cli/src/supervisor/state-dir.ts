import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

/**
 * What a supervisor keeps in its state directory about itself and its children, so that two
 * supervisors never share one directory (its Redis data and worker sockets) and a supervisor that
 * was SIGKILLed leaves nothing running that the next start does not find.
 */
const LOCK_FILE = 'supervisor.lock';
const CHILDREN_FILE = 'children.json';
/** A leftover child gets this long to drain after SIGTERM before it is killed. */
const LEFTOVER_STOP_MS = 10_000;

/**
 * The command line of a running process, or undefined when there is none (or it is a zombie).
 * Recorded with each pid, so a pid the OS has since given to another program is never taken for ours.
 */
export function commandLineOf(pid: number): string | undefined {
  if (process.platform === 'linux') {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      return command === '' ? undefined : command;
    } catch {
      return undefined;
    }
  }
  const ps = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  return ps.status === 0 && ps.stdout.trim() !== '' ? ps.stdout.trim() : undefined;
}

interface ProcessRecord {
  pid: number;
  /** As commandLineOf read it when the record was written. */
  command: string;
}

function stillRuns(record: ProcessRecord): boolean {
  return commandLineOf(record.pid) === record.command;
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Another supervisor runs on this state directory. */
export class StateDirBusyError extends Error {
  override name = 'StateDirBusyError';
}

interface LockRecord extends ProcessRecord {
  host: string;
  port: number;
  started_at: string;
}

/**
 * One running supervisor per state directory: a lock file created exclusively, naming the owner's
 * pid and port. A lock whose owner no longer runs is stale (its supervisor was killed) and is taken over.
 */
export class StateDirLock {
  private constructor(
    private readonly path: string,
    private readonly text: string,
  ) {}

  static acquire(stateDir: string, owner: { host: string; port: number }): StateDirLock {
    mkdirSync(stateDir, { recursive: true });
    const path = join(stateDir, LOCK_FILE);
    const record: LockRecord = {
      pid: process.pid,
      command: commandLineOf(process.pid) ?? '',
      host: owner.host,
      port: owner.port,
      started_at: new Date().toISOString(),
    };
    const text = `${JSON.stringify(record)}\n`;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        writeFileSync(path, text, { flag: 'wx', mode: 0o600 });
        return new StateDirLock(path, text);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw error;
        }
      }
      const holder = readJson<LockRecord>(path);
      if (holder !== undefined && stillRuns(holder)) {
        throw new StateDirBusyError(
          `another mlx-omni-server (pid ${holder.pid}, port ${holder.port}) is running on the state directory ${stateDir}; stop it first, or give this one its own MLX_OMNI_STATE_DIR`,
        );
      }
      rmSync(path, { force: true });
    }
    throw new StateDirBusyError(`could not lock the state directory ${stateDir}: another mlx-omni-server is starting there`);
  }

  /** Synchronous, so it also runs in a process 'exit' handler; leaves a lock that is no longer this one's alone. */
  release(): void {
    let current: string | undefined;
    try {
      current = readFileSync(this.path, 'utf8');
    } catch {
      return;
    }
    if (current === this.text) {
      rmSync(this.path, { force: true });
    }
  }
}

export interface ChildRecord extends ProcessRecord {
  /** api, worker-1, redis. */
  name: string;
}

/** The children now running, rewritten whenever one starts, so a killed supervisor's are known to the next. */
export class ChildrenFile {
  private readonly path: string;
  private readonly running = new Map<string, ChildRecord>();

  constructor(stateDir: string) {
    this.path = join(stateDir, CHILDREN_FILE);
  }

  started(name: string, pid: number): void {
    const command = commandLineOf(pid);
    if (command === undefined) {
      return;
    }
    this.running.set(name, { name, pid, command });
    writeFileSync(this.path, `${JSON.stringify([...this.running.values()], null, 2)}\n`, { mode: 0o600 });
  }

  /** After a clean stop nothing is left over. */
  clear(): void {
    this.running.clear();
    rmSync(this.path, { force: true });
  }

  /**
   * Stops the children a previous supervisor recorded and left running (it was SIGKILLed, and a child
   * did not notice, e.g. because it was stopped): SIGTERM to each one's process group, SIGKILL after
   * a grace period. Processes whose pid now runs another command are left alone.
   */
  async stopLeftovers(logger: Logger): Promise<void> {
    const leftovers = (readJson<ChildRecord[]>(this.path) ?? []).filter(stillRuns);
    for (const child of leftovers) {
      logger.warn({ process: child.name, pid: child.pid }, 'stopping a process left running by a supervisor that did not exit cleanly');
      signalGroup(child.pid, 'SIGTERM');
      // A stopped process (SIGSTOP, a debugger) acts on SIGTERM only once continued.
      signalGroup(child.pid, 'SIGCONT');
    }
    const deadline = Date.now() + LEFTOVER_STOP_MS;
    while (leftovers.some(stillRuns) && Date.now() < deadline) {
      await sleep(100);
    }
    for (const child of leftovers.filter(stillRuns)) {
      signalGroup(child.pid, 'SIGKILL');
    }
    rmSync(this.path, { force: true });
  }
}

/** Children lead their own process group (they are started detached), so -pid reaches what they started too. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
      throw error;
    }
  }
}
