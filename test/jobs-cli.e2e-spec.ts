import { mkdtempSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { HubServer } from '../libs/model-hub/src/testing/hub-server';
import { keysCli } from './support/keys';
import { spawnLogged, waitFor, type Spawned } from './support/processes';
import { CLI, startStack, type RunningStack } from './support/stack';

const SLOW = 'remote-org/slow-model';
const SMALL = 'remote-org/small-model';
const FLAKY = 'remote-org/flaky-model';
const COMMIT = 'b'.repeat(40);
const ADMIN_KEY = 'jobs-admin-key-0123456789';

describe('jobs and the CLI against the real server (keys on, a local Hub)', () => {
  let hub: HubServer;
  let stack: RunningStack;
  let keysFile: string;
  const keys: Record<string, string> = {};
  const runs: Spawned[] = [];

  /** The built CLI as a person runs it next to the server (same PORT, no key unless given). */
  const cli = (args: string[], env: Record<string, string> = {}): Spawned => {
    const run = spawnLogged(process.execPath, [CLI, ...args], { ...process.env, PORT: String(stack.port), HF_HOME: join(stack.stateDir, 'hf'), MLX_OMNI_API_KEY: '', ...env });
    runs.push(run);
    return run;
  };
  const as = (key: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    const fixtures = await ensureFixtures(testHubDir(), ['mlx-omni-test/tiny-phi3-4bit']);
    const dir = fixtures.get('mlx-omni-test/tiny-phi3-4bit')!;
    const files = Object.fromEntries(await Promise.all((await readdir(dir)).map(async (name) => [name, await readFile(join(dir, name))])));
    hub = await HubServer.start([SLOW, SMALL, FLAKY].map((repoId) => ({ repoId, commit: COMMIT, files })));
    keysFile = join(mkdtempSync(join(tmpdir(), 'omni-jobs-keys-')), 'keys.json');
    keys.ops = keysCli(keysFile, 'add', 'ops', '--role', 'admin');
    keys.alice = keysCli(keysFile, 'add', 'alice');
    stack = await startStack({ env: { HF_ENDPOINT: hub.url, MLX_OMNI_API_KEY: ADMIN_KEY, MLX_OMNI_KEYS_FILE: keysFile } });
    await stack.waitUntilReady();
  });

  afterAll(async () => {
    for (const run of runs) {
      run.child.kill('SIGKILL');
    }
    await stack?.stop();
    await hub?.close();
  });

  it('tells a CLI user without a key how to pass one', async () => {
    const run = cli(['models', 'pull', SMALL]);
    expect(await run.exited).toBe(1);
    expect(run.output().trim()).toBe(
      'mlx-omni-server: the server needs an API key: pass --api-key KEY or set MLX_OMNI_CLI_KEY (create one with "mlx-omni-server keys add NAME --role admin")',
    );
  });

  it('pulls with MLX_OMNI_CLI_KEY, then `models rm` deletes the model through the running server', async () => {
    const pull = cli(['models', 'pull', SMALL], { MLX_OMNI_CLI_KEY: keys.ops });
    expect(await pull.exited).toBe(0);
    expect(pull.output()).toMatch(/^Pulled remote-org\/small-model into /m);

    const list = cli(['models', 'list', '--api-key', keys.ops]);
    expect(await list.exited).toBe(0);
    expect(list.output()).toMatch(/^remote-org\/small-model\s+chat\s/m);

    // A bodiless DELETE: the CLI once sent a JSON content type with it, which the server refuses.
    const remove = cli(['models', 'rm', SMALL, '--api-key', keys.ops]);
    expect(await remove.exited).toBe(0);
    expect(remove.output()).toMatch(/^Deleted remote-org\/small-model \([\d.]+ MB freed\)$/m);
    expect((await stack.request(`/v1/models/${SMALL}`, as(keys.ops))).status).toBe(404);
  });

  it('lists jobs newest first: an admin sees every key’s, a user only its own; filters by queue and state', async () => {
    const own = await stack.request('/v1/self-test', as(keys.alice, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"size":16,"wait_seconds":30}' }));
    expect(own.body.status).toBe('completed');

    const forAdmin = (await stack.request('/v1/jobs', as(keys.ops))).body;
    expect(forAdmin.object).toBe('list');
    expect(forAdmin.data.map((job: { owner: string }) => job.owner)).toEqual(['alice', 'ops']);
    const forAlice = (await stack.request('/v1/jobs', as(keys.alice))).body.data;
    expect(forAlice.map((job: { id: string }) => job.id)).toEqual([own.body.id]);
    const filtered = (await stack.request('/v1/jobs?queue=model-download&state=completed', as(keys.ops))).body.data;
    expect(filtered.map((job: { name: string; owner: string }) => [job.name, job.owner])).toEqual([['pull', 'ops']]);
    const invalid = await stack.request('/v1/jobs?state=sleeping', as(keys.ops));
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.param).toBe('state');
  });

  it('cancels a running pull: the worker stops downloading, the job is gone, and the CLI says it ended', async () => {
    hub.chunkDelayMs = 20;
    const pull = cli(['models', 'pull', SLOW, '--api-key', keys.ops]);
    const id = await waitFor('the pull to be running', async () => {
      const jobs = (await stack.request('/v1/jobs?queue=model-download&state=active', as(keys.ops))).body.data;
      return jobs.length === 1 && (jobs[0].progress?.bytes_done ?? 0) > 0;
    }, 60_000).then(async () => (await stack.request('/v1/jobs?queue=model-download&state=active', as(keys.ops))).body.data[0].id as string);
    // Plain lines on a pipe (a bar only on a terminal): bytes, speed and ETA.
    await waitFor('a progress line', async () => /\d+\.\d% [\d.]+ [kMG]?B of [\d.]+ [kMG]?B, [\d.]+ [kMG]?B\/s/.test(pull.output()), 30_000);

    const refused = await stack.request(`/v1/jobs/${id}`, as(keys.alice, { method: 'DELETE' }));
    expect(refused.status).toBe(403);
    const deleted = await stack.request(`/v1/jobs/${id}`, as(keys.ops, { method: 'DELETE' }));
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id, object: 'job', deleted: true, previous_status: 'active' });
    expect((await stack.request(`/v1/jobs/${id}`, as(keys.ops))).status).toBe(404);
    expect(await pull.exited).toBe(1);
    expect(stack.supervisor.output()).toContain('Model download cancelled');
    const fetchedBefore = hub.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(hub.requests.length).toBe(fetchedBefore);
    hub.chunkDelayMs = 0;
  });

  it('shows a pull the Hub keeps failing in plain words ("retrying in N s" with the cause), and deleting the job ends it', async () => {
    hub.failing.set(FLAKY, 503);
    const pull = cli(['models', 'pull', FLAKY, '--api-key', keys.ops]);
    await waitFor('the retry line', async () => /retrying in \d+s \(try 2 of 5\): The Hub answered HTTP 503 for /.test(pull.output()), 30_000);
    expect(pull.output()).not.toMatch(/\bdelayed\b/);
    let job: { id: string; retry_at: number; created_at: number } | undefined;
    await waitFor('the job to wait for its next try', async () => {
      [job] = (await stack.request('/v1/jobs?queue=model-download&state=delayed', as(keys.ops))).body.data;
      return job !== undefined;
    }, 30_000);
    job = job!;
    expect(job.retry_at).toBeGreaterThan(job.created_at);
    expect((await stack.request(`/v1/jobs/${job.id}`, as(keys.ops, { method: 'DELETE' }))).body).toMatchObject({ deleted: true, previous_status: 'delayed' });
    expect(await pull.exited).toBe(1);
    hub.failing.delete(FLAKY);
  });

  it('says a model that is not there is not present, rather than how to pull it', async () => {
    const removed = await stack.request(`/v1/models/${SMALL}`, as(keys.ops, { method: 'DELETE' }));
    expect(removed.status).toBe(404);
    expect(removed.body.error.message).toContain(`Model "${SMALL}" is not present in the cache`);
    expect(removed.body.error.message).not.toContain('pull');
  });
});
