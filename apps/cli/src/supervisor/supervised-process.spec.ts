import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { captureLogger, isAlive, tempDir, waitFor, WRITE_ATOMIC_JS } from '../testing/probes';
import { RestartBackoff } from './backoff';
import { type ProcessSpec, SupervisedProcess } from './supervised-process';

function nodeScript(name: string, script: string): ProcessSpec {
  return { name, command: process.execPath, args: ['-e', script], env: {}, stdio: 'ignore' };
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

describe('SupervisedProcess', () => {
  let dir: string;
  let supervised: SupervisedProcess | undefined;

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(() => {
    supervised?.kill();
    supervised = undefined;
  });

  it('restarts a crashing process with a doubling delay, and not after stop()', async () => {
    const starts = join(dir, 'starts');
    const { logger, lines: logs } = captureLogger();
    supervised = new SupervisedProcess(
      nodeScript('crasher', `require('fs').appendFileSync(${JSON.stringify(starts)}, Date.now() + '\\n'); process.exit(3)`),
      logger,
      new RestartBackoff({ initialMs: 100, maxMs: 400, resetAfterMs: 60_000 }),
      { giveUpAfter: 100 },
    );

    await supervised.start();
    await waitFor('five runs', () => lines(starts).length >= 5);
    await supervised.stop(1000);

    const restarts = logs.filter((line) => line.msg === 'exited unexpectedly; restarting');
    expect(restarts.slice(0, 4).map((line) => [line.code, line.restartInMs])).toEqual([
      [3, 100],
      [3, 200],
      [3, 400],
      [3, 400],
    ]);
    const times = lines(starts).map(Number);
    const gaps = times.slice(1, 5).map((time, index) => time - times[index]);
    [100, 200, 400, 400].forEach((delay, index) => expect(gaps[index]).toBeGreaterThanOrEqual(delay - 5));

    const runs = lines(starts).length;
    await sleep(700);
    expect(lines(starts)).toHaveLength(runs);
  });

  it('lets a process drain on SIGTERM and does not restart it', async () => {
    const ready = join(dir, 'ready');
    const drained = join(dir, 'drained');
    const { logger, lines: logs } = captureLogger();
    supervised = new SupervisedProcess(
      nodeScript(
        'drainer',
        `const fs = require('fs');
         ${WRITE_ATOMIC_JS}
         process.on('SIGTERM', () => setTimeout(() => { fs.writeFileSync(${JSON.stringify(drained)}, 'yes'); process.exit(0); }, 200));
         writeAtomic(${JSON.stringify(ready)}, String(process.pid));
         setInterval(() => {}, 1000);`,
      ),
      logger,
    );

    await supervised.start();
    const pid = Number(await waitFor('the process to be ready', () => existsSync(ready) && readFileSync(ready, 'utf8')));
    await supervised.stop(5000);

    expect(readFileSync(drained, 'utf8')).toBe('yes');
    expect(isAlive(pid)).toBe(false);
    expect(supervised.exitCount).toBe(1);
    expect(logs.find((line) => line.msg === 'stopped')).toMatchObject({ process: 'drainer', code: 0 });
    expect(logs.some((line) => line.msg === 'exited unexpectedly; restarting')).toBe(false);
  });

  it('kills a process that ignores SIGTERM after the timeout, together with the processes it started', async () => {
    const pids = join(dir, 'pids');
    const { logger, lines: logs } = captureLogger();
    supervised = new SupervisedProcess(
      nodeScript(
        'stubborn',
        `const fs = require('fs');
         ${WRITE_ATOMIC_JS}
         const grandchild = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
         process.on('SIGTERM', () => {});
         writeAtomic(${JSON.stringify(pids)}, process.pid + ' ' + grandchild.pid);
         setInterval(() => {}, 1000);`,
      ),
      logger,
    );

    await supervised.start();
    const [pid, grandchild] = (await waitFor('both pids', () => lines(pids)[0])).split(' ').map(Number);
    const stopStarted = Date.now();
    await supervised.stop(300);

    expect(Date.now() - stopStarted).toBeGreaterThanOrEqual(300);
    expect(logs.some((line) => line.msg === 'still running after SIGTERM; killing it')).toBe(true);
    expect(isAlive(pid)).toBe(false);
    await waitFor('the grandchild to die', () => !isAlive(grandchild), 2000);
  });

  it('stops restarting a process that fails the same way at every start, or says a restart cannot help', async () => {
    const starts = join(dir, 'starts');
    const record = `require('fs').appendFileSync(${JSON.stringify(starts)}, 'x\\n');`;
    const gaveUp: string[] = [];
    const spawned: number[] = [];
    const { logger, lines: logs } = captureLogger();
    supervised = new SupervisedProcess(nodeScript('looper', `${record} process.exit(9)`), logger, new RestartBackoff({ initialMs: 10, maxMs: 10, resetAfterMs: 60_000 }), {
      giveUpAfter: 3,
      onSpawn: (pid) => spawned.push(pid),
      onGiveUp: (reason) => gaveUp.push(reason),
    });
    await supervised.start();
    await waitFor('the supervisor to give up', () => gaveUp.length > 0);
    await sleep(100);
    expect(lines(starts)).toHaveLength(3);
    expect(spawned).toHaveLength(3);
    expect(gaveUp).toEqual(['looper failed during start-up 3 times in a row (exit code 9)']);
    expect(logs.find((line) => line.level === 50)).toMatchObject({ msg: 'looper failed during start-up 3 times in a row (exit code 9); not restarting it' });

    const permanent: string[] = [];
    supervised = new SupervisedProcess(nodeScript('misconfigured', `${record} process.exit(78)`), logger, new RestartBackoff({ initialMs: 10, maxMs: 10, resetAfterMs: 60_000 }), {
      onGiveUp: (reason) => permanent.push(reason),
    });
    await supervised.start();
    await waitFor('the supervisor to give up', () => permanent.length > 0);
    await sleep(100);
    expect(lines(starts)).toHaveLength(4);
    expect(permanent).toEqual(['misconfigured exited with code 78, which says it cannot start as configured']);
  });

  it('rejects start() when the command does not exist, and does not retry it', async () => {
    const { logger, lines: logs } = captureLogger();
    supervised = new SupervisedProcess(
      { name: 'missing', command: 'mlx-omni-no-such-command', args: [], env: { PATH: dir }, stdio: 'ignore' },
      logger,
      new RestartBackoff({ initialMs: 10, maxMs: 10, resetAfterMs: 1000 }),
    );

    await expect(supervised.start()).rejects.toMatchObject({ code: 'ENOENT' });
    await sleep(100);
    expect(logs.some((line) => line.msg === 'exited unexpectedly; restarting')).toBe(false);
  });
});
