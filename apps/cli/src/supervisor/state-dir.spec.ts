import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { captureLogger, isAlive, tempDir, waitFor } from '../testing/probes';
import { ChildrenFile, commandLineOf, StateDirBusyError, StateDirLock } from './state-dir';

/** A process in its own group, as the supervisor starts its children. */
function detachedSleeper(): number {
  const child = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

describe('StateDirLock', () => {
  it('lets one supervisor own a state directory and refuses a second, naming the first one’s pid and port', () => {
    const dir = tempDir();
    const lock = StateDirLock.acquire(dir, { host: '127.0.0.1', port: 10240 });
    expect(() => StateDirLock.acquire(dir, { host: '127.0.0.1', port: 10241 })).toThrow(StateDirBusyError);
    expect(() => StateDirLock.acquire(dir, { host: '127.0.0.1', port: 10241 })).toThrow(
      `another mlx-omni-server (pid ${process.pid}, port 10240) is running on the state directory ${dir}`,
    );
    lock.release();
    StateDirLock.acquire(dir, { host: '127.0.0.1', port: 10241 }).release();
    expect(existsSync(join(dir, 'supervisor.lock'))).toBe(false);
  });

  it('takes over the lock of a supervisor that no longer runs, even when its pid now runs something else', () => {
    const dir = tempDir();
    // The pid is alive (this very process) but its command line is not the one recorded.
    writeFileSync(join(dir, 'supervisor.lock'), JSON.stringify({ pid: process.pid, command: 'node gone.js serve', host: '127.0.0.1', port: 1 }));
    const lock = StateDirLock.acquire(dir, { host: '127.0.0.1', port: 2 });
    expect(JSON.parse(readFileSync(join(dir, 'supervisor.lock'), 'utf8'))).toMatchObject({ pid: process.pid, port: 2 });
    lock.release();
  });
});

describe('ChildrenFile', () => {
  it('stops the recorded children a killed supervisor left, SIGKILLing one that ignores SIGTERM, and leaves reused pids alone', async () => {
    const dir = tempDir();
    const leftover = detachedSleeper();
    await waitFor('the sleeper to run', () => commandLineOf(leftover)?.includes('setInterval'));
    const stranger = detachedSleeper();
    await waitFor('the stranger to run', () => commandLineOf(stranger)?.includes('setInterval'));
    new ChildrenFile(dir).started('worker-1', leftover);
    // A record whose pid now runs another command, as after a reboot.
    const records = JSON.parse(readFileSync(join(dir, 'children.json'), 'utf8'));
    writeFileSync(join(dir, 'children.json'), JSON.stringify([...records, { name: 'api', pid: stranger, command: 'node old-api.js' }]));
    const { logger, lines } = captureLogger();

    await new ChildrenFile(dir).stopLeftovers(logger);

    await waitFor('the leftover to be gone', () => !isAlive(leftover));
    expect(isAlive(stranger)).toBe(true);
    expect(lines.filter((line) => line.msg.startsWith('stopping a process left running'))).toEqual([expect.objectContaining({ process: 'worker-1', pid: leftover })]);
    expect(existsSync(join(dir, 'children.json'))).toBe(false);
    process.kill(stranger, 'SIGKILL');
  }, 30_000);
});
