import OpenAI, { NotFoundError } from 'openai';
import { cp, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFixtures, repoFolderName, testHubDir } from '@mlx-omni/model-fixtures';
import { HubServer } from '../libs/model-hub/src/testing/hub-server';
import { waitFor } from './support/processes';
import { startStack, type RunningStack } from './support/stack';

const CACHED = 'mlx-omni-test/tiny-mistral-4bit';
// The Hub serves a copy of another fixture under a name that is not cached yet.
const REMOTE = 'remote-org/tiny-phi3';
const REMOTE_COMMIT = 'a'.repeat(40);
// Each model takes ~70 MB once loaded (its 4-bit weights widen to float32 on the CPU backend): one fits, two do not.
const BUDGET_BYTES = 100_000_000;
const IDLE_TTL_S = 5;

const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hi' }];

describe('models: discovery, pulls from the Hub, and the memory-bounded pool (real stack, local Hub)', () => {
  let hub: HubServer;
  let hubCache: string;
  let stack: RunningStack;
  let client: OpenAI;

  const job = async (id: string) => (await stack.request(`/v1/jobs/${id}`)).body;
  const model = async (id: string) => (await stack.request(`/v1/models/${id}`)).body;
  const finished = async (id: string, timeoutMs = 30_000) => {
    await waitFor(`job ${id} to finish`, async () => ['completed', 'failed'].includes((await job(id)).status), timeoutMs);
    return job(id);
  };
  const post = (path: string, body?: object) =>
    stack.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  const metric = async (name: string) => {
    const line = (await stack.request('/metrics')).text.split('\n').find((entry) => entry.startsWith(name));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  beforeAll(async () => {
    const fixtures = await ensureFixtures(testHubDir(), [CACHED, 'mlx-omni-test/tiny-phi3-4bit']);
    hubCache = await mkdtemp(join(tmpdir(), 'omni-models-hub-'));
    // A private copy: this suite deletes and downloads models.
    await cp(join(testHubDir(), repoFolderName(CACHED)), join(hubCache, repoFolderName(CACHED)), { recursive: true, verbatimSymlinks: true });
    const phi3 = fixtures.get('mlx-omni-test/tiny-phi3-4bit')!;
    const files = Object.fromEntries(await Promise.all((await readdir(phi3)).map(async (name) => [name, await readFile(join(phi3, name))])));
    hub = await HubServer.start([{ repoId: REMOTE, commit: REMOTE_COMMIT, files }]);
    stack = await startStack({
      workers: 1,
      env: {
        HF_HUB_CACHE: hubCache,
        HF_ENDPOINT: hub.url,
        MLX_OMNI_MEMORY_BUDGET_BYTES: String(BUDGET_BYTES),
        MLX_OMNI_MODEL_IDLE_TTL_S: String(IDLE_TTL_S),
      },
    });
    await stack.waitUntilReady();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
    await hub?.close();
    if (hubCache !== undefined) {
      await rm(hubCache, { recursive: true, force: true });
    }
  });

  it('lists the cache in the OpenAI shape with size, quantization and context length, and retrieves ids with a slash', async () => {
    const listed = await client.models.list();
    expect(listed.data.map((entry) => entry.id)).toEqual([CACHED]);
    const [entry] = (await stack.request('/v1/models')).body.data;
    expect(entry).toMatchObject({ id: CACHED, object: 'model', owned_by: 'mlx-omni-test', kind: 'chat', loaded_on: [], quantization: { bits: 4 } });
    expect(entry.size_bytes).toBeGreaterThan(9_000_000);
    expect(entry.context_length).toBeGreaterThan(0);

    // The SDK sends the id URL-encoded as one segment; curl users type the slash.
    expect((await client.models.retrieve(CACHED)).id).toBe(CACHED);
    expect(await model(CACHED)).toEqual(entry);
    await expect(client.models.retrieve('org/absent')).rejects.toBeInstanceOf(NotFoundError);

    const missing = await client.chat.completions.create({ model: REMOTE, messages }).catch((error: unknown) => error);
    expect(missing).toMatchObject({ status: 404, code: 'model_not_found' });
    expect((missing as Error).message).toContain(`mlx-omni-server models pull ${REMOTE}`);
  });

  it('pulls from HF_ENDPOINT as one job per model, with byte and file progress, resuming a transfer cut mid-file', async () => {
    hub.cutAfter.set('model.safetensors', 3_000_000);

    const [first, second] = await Promise.all([post('/v1/models/pull', { model: REMOTE }), post('/v1/models/pull', { model: REMOTE })]);

    expect(first.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    const done = await finished(first.body.id);
    expect(done).toMatchObject({ status: 'completed', queue: 'model-download', result: { model: REMOTE, revision: 'main', commit: REMOTE_COMMIT } });
    const { bytes_total, files_total } = done.progress;
    expect(done.progress).toEqual({ bytes_done: bytes_total, bytes_total, files_done: files_total, files_total });
    expect(files_total).toBe(6);
    expect(done.attempts_made).toBeGreaterThanOrEqual(1);
    const ranges = hub.requests.filter((request) => request.path.endsWith('/model.safetensors')).map((request) => request.range);
    expect(ranges).toHaveLength(2);
    expect(ranges[1]).toMatch(/^bytes=[1-9]\d*-$/);

    // The huggingface_hub layout, which Python tools read as their own.
    const repoDir = join(hubCache, repoFolderName(REMOTE));
    expect(await readFile(join(repoDir, 'refs', 'main'), 'utf8')).toBe(REMOTE_COMMIT);
    expect(await readlink(join(repoDir, 'snapshots', REMOTE_COMMIT, 'model.safetensors'))).toMatch(/^\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
    expect((await model(REMOTE)).kind).toBe('chat');
    const completion = await client.chat.completions.create({ model: REMOTE, messages, max_tokens: 2 });
    expect(completion.usage?.completion_tokens).toBe(2);
  });

  it('fails a pull the Hub refuses (404, 401) at once with a message that says what to fix', async () => {
    const absent = await finished((await post('/v1/models/pull', { model: 'remote-org/absent' })).body.id);
    expect(absent.status).toBe('failed');
    expect(absent.error.message).toContain('no model remote-org/absent at revision "main"');
    expect(hub.requests.filter((request) => request.path.includes('remote-org/absent'))).toHaveLength(1);

    hub.requiredToken = 'hf_needed';
    // The finished pull of REMOTE is replaced by a new one, which the Hub now refuses.
    const denied = await finished((await post('/v1/models/pull', { model: REMOTE })).body.id);
    hub.requiredToken = undefined;
    expect(denied.status).toBe('failed');
    expect(denied.error.message).toContain('HF_TOKEN');

    const invalid = await post('/v1/models/pull', { model: '../etc' });
    expect(invalid.status).toBe(400);
  });

  it('keeps models within the memory budget: LRU eviction, 503 when busy models leave no room, idle TTL, admin load/unload, guarded delete', async () => {
    const loadedOn = async (id: string) => (await model(id)).loaded_on;
    const [workerId] = (await stack.request('/v1/workers')).body.data.map((worker: { id: string }) => worker.id);

    expect((await post(`/v1/models/${REMOTE}/load`)).body.loaded_on).toEqual([workerId]);
    await client.chat.completions.create({ model: CACHED, messages, max_tokens: 2 });
    await waitFor('the LRU model to be evicted', async () => (await loadedOn(REMOTE)).length === 0 && (await loadedOn(CACHED)).length === 1, 10_000);
    expect(await metric(`mlx_omni_model_evictions_total{worker_id="${workerId}",reason="lru"}`)).toBe(1);
    const ready = (await stack.request('/health/ready')).body;
    expect(ready.details.workers.model_pools).toEqual([{ worker_id: workerId, models: [CACHED], used_bytes: expect.any(Number), budget_bytes: BUDGET_BYTES }]);

    // While a long generation holds CACHED, REMOTE cannot fit. Banning end-of-sequence (id 2) keeps random weights from stopping early.
    const abort = new AbortController();
    const stream = await client.chat.completions.create(
      { model: CACHED, messages, max_tokens: 3000, stream: true, logit_bias: { '2': -100 } },
      { signal: abort.signal },
    );
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    const full = await post(`/v1/models/${REMOTE}/load`);
    abort.abort();
    await iterator.next().catch(() => undefined);
    expect(full.status).toBe(503);
    expect(full.body.error.code).toBe('model_pool_full');
    expect(full.headers.get('retry-after')).not.toBeNull();

    await waitFor('the idle TTL to unload the model', async () => (await loadedOn(CACHED)).length === 0, (IDLE_TTL_S + 10) * 1000);
    expect(await metric(`mlx_omni_model_evictions_total{worker_id="${workerId}",reason="ttl"}`)).toBe(1);

    await post(`/v1/models/${REMOTE}/load`);
    const refused = await stack.request(`/v1/models/${REMOTE}`, { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('model_in_use');
    expect((await post(`/v1/models/${encodeURIComponent(REMOTE)}/unload`)).body.loaded_on).toEqual([]);

    const deleted = await stack.request(`/v1/models/${REMOTE}`, { method: 'DELETE' });
    expect(deleted.body).toMatchObject({ id: REMOTE, object: 'model', deleted: true });
    expect(deleted.body.freed_bytes).toBeGreaterThan(9_000_000);
    expect((await stack.request(`/v1/models/${REMOTE}`)).status).toBe(404);
    expect((await client.models.list()).data.map((entry) => entry.id)).toEqual([CACHED]);
  });
});

describe('models: auto-download on first request (MLX_OMNI_AUTO_DOWNLOAD=true)', () => {
  let hub: HubServer;
  let stack: RunningStack;
  let client: OpenAI;

  beforeAll(async () => {
    const fixtures = await ensureFixtures(testHubDir(), ['mlx-omni-test/tiny-phi3-4bit']);
    const phi3 = fixtures.get('mlx-omni-test/tiny-phi3-4bit')!;
    const files = Object.fromEntries(await Promise.all((await readdir(phi3)).map(async (name) => [name, await readFile(join(phi3, name))])));
    hub = await HubServer.start([{ repoId: REMOTE, commit: REMOTE_COMMIT, files }]);
    stack = await startStack({ workers: 1, env: { HF_ENDPOINT: hub.url, MLX_OMNI_AUTO_DOWNLOAD: 'true' } });
    await stack.waitUntilReady();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
    await hub?.close();
  });

  it('pulls a model a request names before answering it, and answers 404 when the Hub has none', async () => {
    const completion = await client.chat.completions.create({ model: REMOTE, messages, max_tokens: 2 });
    expect(completion.usage?.completion_tokens).toBe(2);
    expect((await client.models.list()).data.map((entry) => entry.id)).toEqual([REMOTE]);

    const absent = await client.chat.completions.create({ model: 'remote-org/absent', messages }).catch((error: unknown) => error);
    expect(absent).toMatchObject({ status: 404, code: 'model_not_found' });
    expect((absent as Error).message).toContain('pulling it failed: The Hub has no model remote-org/absent');
  });
});
