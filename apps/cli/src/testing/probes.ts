import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pino, { type Logger } from 'pino';

/** What the supervisor's specs observe of real processes: files they write, pids, log lines. */

/**
 * JavaScript for the specs' child scripts (which must have `fs` in scope): writes a file whole,
 * through a rename, so that a spec polling for it never reads it half-written.
 */
export const WRITE_ATOMIC_JS = `const writeAtomic = (file, data) => { fs.writeFileSync(file + '.tmp', data); fs.renameSync(file + '.tmp', file); };`;

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mlx-omni-cli-'));
}

/** Polls until the check returns a value other than undefined or false. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = check();
    if (result !== undefined && result !== false) {
      return result;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(20);
  }
}

/** True while the process exists and is not a zombie (a container's pid 1 may never reap orphans). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') {
      return false;
    }
    throw error;
  }
  if (process.platform !== 'linux') {
    return true;
  }
  // /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces, so read after the last ')'.
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return false;
    }
    throw error;
  }
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

export interface LogLine {
  msg: string;
  process?: string;
  [field: string]: unknown;
}

/** A pino logger whose JSON lines the spec can read back. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}
