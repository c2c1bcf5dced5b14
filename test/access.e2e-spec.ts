import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import OpenAI from 'openai';
import type { Caller } from '@mlx-omni/api-keys';
import { loadConfig } from '@mlx-omni/config';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { producerConnectionOptions } from '@mlx-omni/jobs';
import { CallerContext } from '../apps/api/src/auth/caller-context';
import { ApiError } from '../apps/api/src/common/errors/api-error';
import { RateLimitService } from '../apps/api/src/rate-limits/rate-limit.service';
import { keysCli } from './support/keys';
import { waitFor } from './support/processes';
import { startRedis, type TestRedis } from './support/redis';
import { startStack, type RunningStack } from './support/stack';

const ADMIN_KEY = 'test-admin-key-0123456789';
const LLAMA = 'mlx-omni-test/tiny-llama-fp32';

/** The built `mlx-omni-server keys ...`, as an operator runs it; stdout is the new key for `add`. */
const bearer = (key: string): RequestInit => ({ headers: { authorization: `Bearer ${key}` } });

/** Requests and tokens are counted per clock minute: start a count with enough of the minute left that it does not roll over. */
async function awayFromMinuteEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 10_000) {
    await new Promise((resolveWait) => setTimeout(resolveWait, left + 100));
  }
}

describe('without keys, on loopback (a single-user laptop)', () => {
  let stack: RunningStack;

  beforeAll(async () => {
    stack = await startStack({
      env: { MLX_OMNI_RATE_LIMIT_RPM: '2', MLX_OMNI_CORS_ORIGINS: 'https://app.example.com', MLX_OMNI_JSON_MAX_DEPTH: '16' },
    });
    await stack.waitUntilReady();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers without any key, and with a rubbish one, counting each request against the limit', async () => {
    const open = await stack.request('/v1/workers');
    expect(open.status).toBe(200);
    expect(open.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(['0', '1']).toContain(open.headers.get('x-ratelimit-remaining-requests'));
    expect([200, 429]).toContain((await stack.request('/v1/workers', bearer('whatever'))).status);
  });

  it('answers the request over the per-minute limit with 429, Retry-After and x-ratelimit-* headers; health and metrics stay unlimited', async () => {
    // The previous test spent this minute's two requests unless the minute rolled over; either way the limit is reached below.
    await awayFromMinuteEnd();
    const answers = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      answers.push(await stack.request('/v1/jobs/no-such-job'));
    }
    // Three requests within one minute: at least the last is over a limit of two.
    const refused = answers[2];
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(refused.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+m)?\d+s$|^\d+ms$/);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await stack.request('/health')).status).toBe(200);
      expect((await stack.request('/metrics')).status).toBe(200);
    }
    const client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    await expect(client.chat.completions.create({ model: 'any', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('answers a CORS preflight from the configured origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.baseUrl}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
    const allowed = await preflight('https://app.example.com');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('x-api-key');
    expect((await preflight('https://evil.example.com')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses bodies nested deeper than MLX_OMNI_JSON_MAX_DEPTH and oversized headers, in the error envelope', async () => {
    const deep = await stack.request('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"model":"m","messages":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    });
    expect(deep.status).toBe(400);
    expect(deep.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
    expect(deep.body.error.message).toContain('deeper than 16 levels');
    const huge = await stack.request('/v1/workers', { headers: { 'x-padding': 'x'.repeat(32 * 1024) } });
    expect(huge.status).toBe(431);
    expect(huge.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
    expect((await stack.request('/health')).status).toBe(200);
  });
});

describe('with MLX_OMNI_API_KEY and a keys file', () => {
  let stack: RunningStack;
  let keysFile: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    keysFile = join(mkdtempSync(join(tmpdir(), 'omni-keys-')), 'keys.json');
    keys.alice = keysCli(keysFile, 'add', 'alice');
    keys.bob = keysCli(keysFile, 'add', 'bob', '--role', 'user');
    keys.ops = keysCli(keysFile, 'add', 'ops', '--role', 'admin');
    keys.dave = keysCli(keysFile, 'add', 'dave');
    keys.burst = keysCli(keysFile, 'add', 'burst', '--rpm', '1');
    keys.bulk = keysCli(keysFile, 'add', 'bulk', '--tpm', '0');
    const hub = testHubDir();
    await ensureFixtures(hub, [LLAMA]);
    stack = await startStack({ env: { MLX_OMNI_API_KEY: ADMIN_KEY, MLX_OMNI_KEYS_FILE: keysFile, HF_HUB_CACHE: hub, MLX_OMNI_RATE_LIMIT_TPM: '4' } });
    // Readiness is reached without a key: /health stays open for orchestrators.
    await stack.waitUntilReady();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const client = (apiKey: string): OpenAI => new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey, maxRetries: 0 });
  const chat = (apiKey: string) => client(apiKey).chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] });

  it('answers a missing or wrong key with 401 invalid_api_key (the SDK\'s AuthenticationError)', async () => {
    const missing = await stack.request('/v1/workers');
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    for (const wrong of ['wrong', ADMIN_KEY.slice(0, -1), `${keys.alice}x`, keys.alice.slice(0, 20)]) {
      await expect(chat(wrong)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    }
  });

  it('accepts the env key and file keys as Bearer and as x-api-key', async () => {
    // Past the guard, the request fails on its own merits: the model does not exist.
    await expect(chat(ADMIN_KEY)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(chat(keys.alice)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await stack.request('/v1/workers', bearer(keys.ops))).status).toBe(200);
    expect((await stack.request('/v1/workers', { headers: { 'x-api-key': keys.bob } })).status).toBe(200);
    expect((await stack.request('/v1/workers', { headers: { 'x-api-key': ADMIN_KEY } })).status).toBe(200);
  });

  it("shows a key its own jobs, another user key's jobs as 403, and admins everything", async () => {
    const created = await stack.request('/v1/self-test', {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ size: 16, wait_seconds: 0 }),
    });
    expect([200, 202]).toContain(created.status);
    expect(created.body.owner).toBe('alice');
    const path = `/v1/jobs/${created.body.id}`;
    expect((await stack.request(path, bearer(keys.alice))).body).toMatchObject({ id: created.body.id, owner: 'alice' });
    const forbidden = await stack.request(path, bearer(keys.bob));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toMatchObject({ type: 'permission_error', code: 'insufficient_permissions' });
    expect((await stack.request(path, bearer(keys.ops))).status).toBe(200);
    expect((await stack.request(path, bearer(ADMIN_KEY))).status).toBe(200);
  });

  it('keeps model management to admin keys: 403 for a user key on pull, delete, load and unload', async () => {
    const json = (apiKey: string, method: string, body?: unknown) => ({
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const adminRoutes: Array<[string, string, unknown?]> = [
      ['POST', '/v1/models/pull', { model: 'org/name' }],
      ['DELETE', '/v1/models/org/name'],
      ['POST', '/v1/models/org/name/load', {}],
      ['POST', '/v1/models/org/name/unload', {}],
    ];
    for (const [method, path, body] of adminRoutes) {
      const refused = await stack.request(path, json(keys.bob, method, body));
      expect([method, path, refused.status, refused.body.error?.code]).toEqual([method, path, 403, 'insufficient_permissions']);
      // An admin key passes the guard (the model does not exist, so the route itself answers 404 or queues the pull).
      const admitted = await stack.request(path, json(ADMIN_KEY, method, body));
      expect([method, path, [202, 404].includes(admitted.status)]).toEqual([method, path, true]);
    }
    expect((await stack.request('/v1/models', bearer(keys.bob))).status).toBe(200);
  });

  it('charges the tokens a completion generated to its key, and refuses that key once they reach the limit', async () => {
    await awayFromMinuteEnd();
    const { data, response } = await client(keys.dave)
      .completions.create({ model: LLAMA, prompt: 'Once upon a time', max_tokens: 4, temperature: 0 })
      .withResponse();
    expect(data.usage!.completion_tokens).toBe(4);
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('4');
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toBe('4');
    // Charged once the generation has finished, so the refusal may take a moment to show.
    await waitFor(
      'the next request to be refused',
      () => client(keys.dave).completions.create({ model: LLAMA, prompt: 'Again', max_tokens: 1 }).then(() => false, (error: unknown) => error instanceof OpenAI.RateLimitError),
      5_000,
    );
    await expect(chat(keys.alice)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('honours a key’s own limits from the keys file over the server’s (keys add --rpm/--tpm, shown by keys list)', async () => {
    expect(keysCli(keysFile, 'list')).toMatch(/^burst +user +1 +- +- +\S+$/m);
    expect(keysCli(keysFile, 'list')).toMatch(/^bulk +user +- +none +- +\S+$/m);
    await awayFromMinuteEnd();
    const first = await stack.request('/v1/workers', bearer(keys.burst));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('1');
    const second = await stack.request('/v1/workers', bearer(keys.burst));
    expect(second.status).toBe(429);
    expect(second.body.error.message).toContain('Rate limit reached for key "burst": 1 requests per minute');
    // The server's MLX_OMNI_RATE_LIMIT_TPM (4) applies to alice; bulk's own 0 lifts it.
    expect((await stack.request('/v1/workers', bearer(keys.alice))).headers.get('x-ratelimit-limit-tokens')).toBe('4');
    const bulk = await stack.request('/v1/workers', bearer(keys.bulk));
    expect(bulk.status).toBe(200);
    expect(bulk.headers.get('x-ratelimit-limit-tokens')).toBeNull();
  });

  it('picks up keys added and revoked with the CLI without a restart', async () => {
    const carol = keysCli(keysFile, 'add', 'carol', '--role', 'user');
    expect(keysCli(keysFile, 'list')).toMatch(/^alice +user +- +- +- +\S+$/m);
    expect(keysCli(keysFile, 'list')).toMatch(/^carol +user +- +- +- +\S+$/m);
    expect(keysCli(keysFile, 'list')).not.toContain(carol);
    await waitFor('the new key to be accepted', async () => (await stack.request('/v1/workers', bearer(carol))).status === 200, 10_000);
    keysCli(keysFile, 'revoke', 'carol');
    expect(keysCli(keysFile, 'list')).not.toMatch(/^carol/m);
    await waitFor('the revoked key to be refused', async () => (await stack.request('/v1/workers', bearer(carol))).status === 401, 10_000);
    expect((await stack.request('/v1/workers', bearer(keys.alice))).status).toBe(200);
  });
});

describe('per-key limits on a real Redis, as several API processes share them', () => {
  let redis: TestRedis;
  let client: Redis;
  const callers = new CallerContext();
  let limits: RateLimitService;

  /** The status and Retry-After of a refused admission; undefined when admitted. */
  const caller = (name: string): Caller => ({ name, role: 'user' });
  const refusal = (keyName: string) =>
    limits.admit(caller(keyName)).then(
      (admission) => admission.release(),
      (error: ApiError) => ({ status: error.status, retryAfter: error.headers['retry-after'], message: error.message }),
    );

  beforeAll(async () => {
    redis = await startRedis();
    // Short timeouts, so the socket of the reconnect attempt left after Redis is stopped does not hold Jest open.
    client = new Redis({ ...producerConnectionOptions(redis.url), connectTimeout: 500, disconnectTimeout: 200 });
    // The API's client fails fast (no offline queue), so commands before the connection is up would fail open.
    await waitFor('the Redis client to connect', async () => client.status === 'ready', 5_000);
    const config = loadConfig({ MLX_OMNI_RATE_LIMIT_CONCURRENT: '1', MLX_OMNI_RATE_LIMIT_RPM: '1000', MLX_OMNI_RATE_LIMIT_TPM: '10' });
    limits = new RateLimitService(client, config, callers);
    await awayFromMinuteEnd();
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('admits one request at a time per key, whichever process asks, until the first is released', async () => {
    const racing = await Promise.allSettled(Array.from({ length: 6 }, () => limits.admit(caller('racer'))));
    const admitted = racing.filter((result) => result.status === 'fulfilled');
    expect(admitted).toHaveLength(1);
    expect(await refusal('racer')).toEqual({ status: 429, retryAfter: '1', message: expect.stringContaining('1 requests at once') });
    expect(await refusal('someone-else')).toBeUndefined();
    (admitted[0] as PromiseFulfilledResult<{ release(): void }>).value.release();
    await waitFor('the slot to be free again', async () => (await refusal('racer')) === undefined, 5_000);
  });

  it('charges generated tokens to the key that made the request, and refuses it once over the limit', async () => {
    const admission = await limits.admit(caller('writer'));
    expect(admission.headers['x-ratelimit-remaining-tokens']).toBe('10');
    callers.run({ name: 'writer', role: 'user' }, () => limits.chargeTokens(Promise.resolve(12), (count) => count));
    admission.release();
    await waitFor('the tokens to be charged', async () => (await refusal('writer'))?.status === 429, 5_000);
    const refused = await refusal('writer');
    expect(refused!.message).toContain('10 generated tokens per minute');
    expect(Number(refused!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(await refusal('bystander')).toBeUndefined();
  });

  it('fails open while Redis is down, so chat keeps working', async () => {
    await redis.stop();
    await waitFor('the client to notice', async () => client.status !== 'ready', 5_000);
    const admission = await limits.admit(caller('racer'));
    expect(admission.headers).toEqual({});
    admission.release();
  });
});
