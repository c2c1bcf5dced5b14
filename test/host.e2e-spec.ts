import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './support/ports';
import { isAlive, spawnLogged, waitFor } from './support/processes';
import { CLI, startStack, type RunningStack } from './support/stack';

/** The lines a process printed, without blanks. */
const linesOf = (output: string): string[] => output.split('\n').filter((line) => line.trim() !== '');
/** A stack trace line, which a start-up refusal must never print. */
const STACK_FRAME = /^\s+at \S/m;

/** Runs `mlx-omni-server serve` to its end (it is expected to refuse to start) and returns its exit code and output. */
async function serveUntilExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string; ms: number }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'omni-refused-'));
  const started = Date.now();
  const run = spawnLogged(process.execPath, [CLI, 'serve', ...args], { ...process.env, MLX_OMNI_STATE_DIR: stateDir, HF_HOME: join(stateDir, 'hf'), ...env });
  const code = await run.exited;
  return { code, output: run.output(), ms: Date.now() - started };
}

const processIds = (stack: RunningStack): Record<string, number> =>
  Object.fromEntries(
    (JSON.parse(readFileSync(join(stack.stateDir, 'children.json'), 'utf8')) as Array<{ name: string; pid: number }>).map((child) => [child.name, child.pid]),
  );

describe('a shared host: one supervisor per state directory, children that never outlive it', () => {
  let first: RunningStack;

  beforeAll(async () => {
    first = await startStack({ workers: 2 });
    await first.waitUntilReady();
  });

  afterAll(async () => {
    await first?.stop();
  });

  it('says once that it is ready, with its address, workers and models, and keeps Nest’s start-up chatter out of info', async () => {
    await waitFor('the ready line', async () => first.supervisor.output().includes('ready at'), 10_000);
    const ready = linesOf(first.supervisor.output()).filter((line) => line.includes('ready at'));
    expect(ready).toHaveLength(1);
    expect(JSON.parse(ready[0]).msg).toBe(`ready at http://127.0.0.1:${first.port} (2 workers, 0 models in cache)`);
    expect(first.supervisor.output()).not.toMatch(/Mapped \{|InstanceLoader|RoutesResolver/);
  });

  it('refuses a second supervisor on the same state directory with one line naming the running one’s pid and port; the first keeps serving', async () => {
    const second = await startStack({ stateDir: first.stateDir, workers: 1 });
    const code = await second.supervisor.exited;
    expect(code).not.toBe(0);
    const output = second.supervisor.output();
    expect(output).not.toMatch(STACK_FRAME);
    const refusal = linesOf(output).filter((line) => line.includes('another mlx-omni-server'));
    expect(refusal).toHaveLength(1);
    expect(JSON.parse(refusal[0]).msg).toBe(
      `another mlx-omni-server (pid ${first.supervisor.child.pid}, port ${first.port}) is running on the state directory ${first.stateDir}; stop it first, or give this one its own MLX_OMNI_STATE_DIR`,
    );
    // Nothing of the first was touched: its workers still answer on their sockets.
    expect((await first.request('/health/ready')).status).toBe(200);
    expect((await first.request('/v1/workers')).body.data.map((worker: { up: boolean }) => worker.up)).toEqual([true, true]);
  });

  it('logs in the API a worker going down and coming back', async () => {
    const worker = (await first.request('/v1/workers')).body.data[0];
    process.kill(worker.pid, 'SIGKILL');
    await waitFor('the API to log worker-1 down and up again', async () => {
      const api = linesOf(first.supervisor.output())
        .filter((line) => line.includes('"service":"api"') && line.includes('"workerId":"worker-1"'))
        .map((line) => JSON.parse(line) as { msg: string });
      const down = api.findIndex((line) => line.msg.startsWith('Worker down'));
      return down >= 0 && api.slice(down + 1).some((line) => line.msg === 'Worker up');
    }, 60_000);
    await first.waitUntilReady();
  });

  it('when the supervisor is SIGKILLed its children exit by themselves, and the next start stops one that could not', async () => {
    const pids = processIds(first);
    expect(Object.keys(pids).sort()).toEqual(['api', 'redis', 'worker-1', 'worker-2']);
    // A stopped process cannot notice anything: it is what the next start must find and stop.
    process.kill(pids['worker-2'], 'SIGSTOP');
    first.supervisor.child.kill('SIGKILL');
    await first.supervisor.exited;
    await waitFor('the API, worker-1 and Redis to exit on their own', async () => ['api', 'worker-1', 'redis'].every((name) => !isAlive(pids[name])), 30_000);
    expect(isAlive(pids['worker-2'])).toBe(true);

    const next = await startStack({ stateDir: first.stateDir, workers: 1 });
    try {
      await next.waitUntilReady();
      expect(isAlive(pids['worker-2'])).toBe(false);
      expect(linesOf(next.supervisor.output()).filter((line) => line.includes('stopping a process left running'))).toEqual([
        expect.stringContaining(`"process":"worker-2","pid":${pids['worker-2']}`),
      ]);
    } finally {
      await next.stop();
    }
  });
});

describe('start-up faults: one line naming the setting, exit non-zero, nothing restarted', () => {
  let taken: Server;
  let port: number;

  beforeAll(async () => {
    taken = createServer();
    port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
  });

  afterAll(() => {
    taken?.close();
  });

  it('a port in use', async () => {
    const { code, output, ms } = await serveUntilExit(['--port', String(port)]);
    expect(code).toBe(1);
    expect(ms).toBeLessThan(15_000);
    expect(output).not.toMatch(STACK_FRAME);
    expect(linesOf(output).map((line) => JSON.parse(line).msg)).toEqual([`port ${port} is in use: set PORT or --port`]);
  });

  it('a HOST that does not resolve, checked before any warning about listening beyond loopback', async () => {
    const { code, output } = await serveUntilExit(['--host', 'no-such-host.invalid', '--port', String(await freePort())]);
    expect(code).toBe(1);
    expect(linesOf(output).map((line) => JSON.parse(line).msg)).toEqual([
      expect.stringMatching(/^HOST "no-such-host\.invalid" does not resolve \((ENOTFOUND|EAI_AGAIN)\): set HOST or --host/),
    ]);
  });

  it('a child that fails the same way at every start (an unreadable keys file): the service stops instead of restarting it', async () => {
    const keysFile = join(mkdtempSync(join(tmpdir(), 'omni-bad-keys-')), 'keys.json');
    writeFileSync(keysFile, '{ not json');
    const { code, output } = await serveUntilExit(['--port', String(await freePort())], { MLX_OMNI_KEYS_FILE: keysFile });
    expect(code).toBe(1);
    const lines = linesOf(output).map((line) => JSON.parse(line) as { level: number; msg: string; service: string });
    expect(lines.filter((line) => line.msg === 'exited unexpectedly; restarting')).toEqual([]);
    expect(lines.find((line) => line.service === 'api' && line.level === 60)?.msg).toBe('API start-up failed');
    expect(lines.filter((line) => line.service === 'supervisor' && line.level === 60).map((line) => line.msg)).toEqual([
      'api exited with code 78, which says it cannot start as configured; stopping the service',
    ]);
    expect(output).toContain(`${keysFile} is not valid JSON`);
  });

  it('writes readable lines instead of JSON when asked (as on a terminal)', async () => {
    const { output } = await serveUntilExit(['--port', String(port)], { MLX_OMNI_LOG_FORMAT: 'pretty' });
    expect(linesOf(output)).toEqual([expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d FATAL supervisor: port ${port} is in use: set PORT or --port$`))]);
  });
});
