import { spawnSync } from 'node:child_process';
import { startRedis, type TestRedis } from './support/redis';
import { waitFor } from './support/processes';
import { postDeclaringLength } from './support/raw-post';
import { startStack, type RunningStack } from './support/stack';

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the running service (supervisor, API, worker, private Redis)', () => {
  let stack: RunningStack;

  beforeAll(async () => {
    stack = await startStack({ workers: 1 });
    await stack.waitUntilReady();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('is live and ready, with every readiness check named', async () => {
    expect((await stack.request('/health')).status).toBe(200);
    const ready = await stack.request('/health/ready');
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.details).sort()).toEqual(['accepting', 'disk', 'redis', 'workers']);
  });

  it('lists the worker with its device and memory, as the registry sees it', async () => {
    const { status, body } = await stack.request('/v1/workers');
    expect(status).toBe(200);
    expect(body.object).toBe('list');
    expect(body.data).toHaveLength(1);
    expect(body.data[0]).toMatchObject({ id: 'worker-1', object: 'worker', up: true, device: 'cpu', draining: false, loaded_models: [] });
    expect(body.data[0].memory.rss_bytes).toBeGreaterThan(0);
  });

  it('runs a queued job on a worker and shows its status and result', async () => {
    const created = await stack.request('/v1/self-test', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: 64, wait_seconds: 0 }),
    });
    expect([200, 202]).toContain(created.status);
    expect(created.body).toMatchObject({ object: 'job', queue: 'diagnostics', name: 'matmul-self-test' });
    let job = created.body;
    await waitFor('the self-test job to complete', async () => {
      job = (await stack.request(`/v1/jobs/${created.body.id}`)).body;
      return job.status === 'completed';
    });
    expect(job.result).toMatchObject({ worker_id: 'worker-1', device: 'cpu', size: 64 });
    expect(job.result.max_abs_error).toBeLessThan(1e-3);
    expect(job.finished_at).toBeGreaterThanOrEqual(job.created_at);
  });

  it('echoes the caller’s x-request-id, and makes one up otherwise', async () => {
    const given = await stack.request('/health', { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(given.headers.get('x-request-id')).toBe('trace-abc.123');
    const generated = await stack.request('/health');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  describe('errors use the OpenAI envelope', () => {
    const expectEnvelope = (body: any, fields: Record<string, unknown>): void => {
      expect(Object.keys(body)).toEqual(['error']);
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(body.error).toMatchObject(fields);
      expect(typeof body.error.message).toBe('string');
    };
    const post = (body: string, contentType = 'application/json') =>
      stack.request('/v1/self-test', { method: 'POST', headers: { 'content-type': contentType }, body });

    it('400 for a wrong type, naming the field in param', async () => {
      const response = await post(JSON.stringify({ size: 'big' }));
      expect(response.status).toBe(400);
      expectEnvelope(response.body, { type: 'invalid_request_error', param: 'size', code: 'invalid_value' });
    });

    it('400 for malformed JSON', async () => {
      const response = await post('{"size": 64,');
      expect(response.status).toBe(400);
      expectEnvelope(response.body, { type: 'invalid_request_error', param: null, code: 'invalid_json' });
    });

    it('404 for an unknown route and for an unknown job', async () => {
      const route = await stack.request('/v1/no-such-route');
      expect(route.status).toBe(404);
      expectEnvelope(route.body, { type: 'invalid_request_error', code: 'not_found' });
      const job = await stack.request('/v1/jobs/00000000-0000-0000-0000-000000000000');
      expect(job.status).toBe(404);
      expectEnvelope(job.body, { code: 'job_not_found', param: 'id' });
    });

    it('413 for a body over the limit', async () => {
      const response = await postDeclaringLength(`${stack.baseUrl}/v1/self-test`, 33 * 1024 * 1024);
      expect(response.status).toBe(413);
      expectEnvelope(response.body, { type: 'invalid_request_error', code: 'request_too_large' });
    });

    it('415 for a content type the route does not take', async () => {
      const response = await post('size=64', 'application/x-www-form-urlencoded-nope');
      expect(response.status).toBe(415);
      expectEnvelope(response.body, { code: 'unsupported_media_type' });
    });
  });

  it('documents every route in the OpenAPI JSON and serves Swagger UI', async () => {
    const { status, body } = await stack.request('/docs/json');
    expect(status).toBe(200);
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining(['/health', '/health/ready', '/metrics', '/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/rerank', '/v1/jobs/{id}', '/v1/self-test', '/v1/workers', '/anthropic/v1/messages', '/anthropic/v1/messages/count_tokens', '/anthropic/v1/models']),
    );
    // Every operation is tagged, says what it returns, and documents the error envelope.
    for (const [path, operations] of Object.entries<Record<string, any>>(body.paths)) {
      for (const [method, operation] of Object.entries<any>(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect([where, operation.tags?.length > 0]).toEqual([where, true]);
        expect([where, Object.keys(operation.responses).some((status) => status.startsWith('2'))]).toEqual([where, true]);
        const envelope = path.startsWith('/anthropic/') ? 'AnthropicErrorResponseDto' : 'ErrorResponseDto';
        expect([where, operation.responses['500']?.content?.['application/json']?.schema?.$ref]).toEqual([where, `#/components/schemas/${envelope}`]);
      }
    }
    const selfTest = body.paths['/v1/self-test'].post;
    expect(selfTest.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/SelfTestRequestDto');
    expect(selfTest.responses['400'].content['application/json'].schema.$ref).toBe('#/components/schemas/ErrorResponseDto');
    expect(selfTest.tags).toEqual(['diagnostics']);
    const ui = await stack.request('/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');
  });

  it('exposes Prometheus metrics that promtool accepts', async () => {
    await stack.request('/health');
    const { status, text, headers } = await stack.request('/metrics');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text).toMatch(/^mlx_omni_worker_up\{worker_id="worker-1"\} 1$/m);
    expect(text).toMatch(/^mlx_omni_queue_jobs\{queue="diagnostics",state="completed"\} \d+$/m);
    expect(text).toMatch(/^mlx_omni_http_request_duration_seconds_count\{method="GET",route="\/health",status_code="200"\} \d+$/m);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stderr + lint.stdout).toBe('');
    expect(lint.status).toBe(0);
  });

  it('serves the official OpenAI SDK, which gets its error classes from the envelope', async () => {
    const { default: OpenAI, NotFoundError, BadRequestError } = await import('openai');
    const client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    const job = await client.post<{ object: string; status: string; result: { device: string } }>('/self-test', { body: { size: 64 } });
    expect(job).toMatchObject({ object: 'job', status: 'completed', result: { device: 'cpu' } });

    const missing = await client.get('/jobs/nope').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'job_not_found', param: 'id', type: 'invalid_request_error' });

    const invalid = await client.post('/self-test', { body: { size: 1 } }).catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(BadRequestError);
    expect(invalid).toMatchObject({ status: 400, param: 'size' });
  });

  it('restarts a killed worker, and readiness recovers', async () => {
    const before = (await stack.request('/v1/workers')).body.data[0];
    process.kill(before.pid, 'SIGKILL');
    await waitFor('readiness to report the worker down', async () => {
      const ready = await stack.request('/health/ready');
      return ready.status === 503 && /workers/.test(ready.body.error.message);
    });
    await stack.waitUntilReady();
    const after = (await stack.request('/v1/workers')).body.data[0];
    expect(after.up).toBe(true);
    expect(after.pid).not.toBe(before.pid);
    expect(stack.supervisor.output()).toMatch(/restart/i);
  });

  it('on SIGTERM stops everything it started and exits 0', async () => {
    const workerPid = (await stack.request('/v1/workers')).body.data[0].pid as number;
    const code = await stack.stop();
    expect(code).toBe(0);
    expect(isAlive(workerPid)).toBe(false);
    const output = stack.supervisor.output();
    const redisPid = /"redisPid":(\d+)/.exec(output)?.[1];
    if (redisPid !== undefined) {
      expect(isAlive(Number(redisPid))).toBe(false);
    }
  });
});

describe('with an external Redis (REDIS_URL)', () => {
  let redis: TestRedis;
  let stack: RunningStack;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({ workers: 1, redisUrl: redis.url });
    await stack.waitUntilReady();
  });

  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  it('answers 503 for queue-backed routes while Redis is down, and recovers when it returns', async () => {
    await redis.stop();
    await waitFor('readiness to name redis', async () => {
      const ready = await stack.request('/health/ready');
      return ready.status === 503 && /redis/.test(ready.body.error.message);
    });
    const refused = await stack.request('/v1/self-test', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: 32, wait_seconds: 0 }),
    });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('queue_unavailable');
    expect(refused.headers.get('retry-after')).not.toBeNull();
    // The worker registry does not depend on Redis.
    expect((await stack.request('/v1/workers')).body.data[0].up).toBe(true);

    redis = await startRedis(redis.port);
    await stack.waitUntilReady(30_000);
    const accepted = await stack.request('/v1/self-test', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: 32, wait_seconds: 30 }),
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body.status).toBe('completed');
  });
});
