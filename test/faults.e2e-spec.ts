import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, waitFor } from './support/processes';
import { startRedis, type TestRedis } from './support/redis';
import { postJson, readSse, type SseEvent } from './support/sse';
import { startStack, type RunningStack } from './support/stack';

const QWEN = 'mlx-omni-test/tiny-qwen3-fp32';
const messages = [{ role: 'user', content: 'Count slowly.' }];
/** Long enough that a stream is still running when the test acts on it; random weights rarely stop early. */
const LONG = { model: QWEN, messages, max_tokens: 4000, temperature: 0, stream: true };

describe('faults on the running service (real supervisor, API, worker and redis-server)', () => {
  let redis: TestRedis;
  let stack: RunningStack;

  const workerPid = async (): Promise<number> => (await stack.request('/v1/workers')).body.data[0].pid as number;
  const chat = (body: Record<string, unknown>) => stack.request('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  beforeAll(async () => {
    const hub = testHubDir();
    await ensureFixtures(hub, [QWEN]);
    redis = await startRedis();
    stack = await startStack({ workers: 1, redisUrl: redis.url, env: { HF_HUB_CACHE: hub, MLX_OMNI_SHUTDOWN_GRACE_MS: '20000' } });
    await stack.waitUntilReady();
    // Loads the model, so the streams below start at once.
    expect((await chat({ model: QWEN, messages, max_tokens: 2 })).status).toBe(200);
  });

  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  it('logs one JSON line per generation and per request, with ids, tokens and latency but without the prompt text', async () => {
    const secret = 'my private prompt 4711';
    const answer = await stack.request('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-log-1' },
      body: JSON.stringify({ model: QWEN, messages: [{ role: 'user', content: secret }], max_tokens: 3 }),
    });
    expect(answer.status).toBe(200);
    let lines: Array<Record<string, any>> = [];
    await waitFor('the log lines of the request', async () => {
      lines = stack.supervisor
        .output()
        .split('\n')
        .filter((line) => line.includes('trace-log-1'))
        .map((line) => JSON.parse(line.slice(line.indexOf('{'))));
      return lines.length >= 2;
    }, 5_000);
    expect(lines.find((line) => line.msg === 'Generation ended')).toMatchObject({
      service: 'api',
      requestId: 'trace-log-1',
      key: null,
      model: QWEN,
      endpoint: 'chat',
      outcome: 'finished',
      promptTokens: answer.body.usage.prompt_tokens,
      completionTokens: 3,
      finishReason: 'length',
      latencyMs: expect.any(Number),
      ttftMs: expect.any(Number),
    });
    expect(lines.find((line) => line.msg === 'request completed')).toMatchObject({ reqId: 'trace-log-1', route: '/v1/chat/completions', statusCode: 200, key: null });
    expect(stack.supervisor.output()).not.toContain(secret);
  });

  it('a worker SIGKILLed mid-stream: the stream ends at once with an error event, the worker comes back, the next request succeeds', async () => {
    const response = await postJson(stack.baseUrl, '/v1/chat/completions', LONG);
    expect(response.status).toBe(200);
    const events: SseEvent[] = [];
    let killedAt = 0;
    for await (const event of readSse(response)) {
      events.push(event);
      if (events.length === 4) {
        process.kill(await workerPid(), 'SIGKILL');
        killedAt = Date.now();
      }
    }
    const endedAfterMs = Date.now() - killedAt;
    expect(killedAt).toBeGreaterThan(0);
    expect(endedAfterMs).toBeLessThan(2_000);
    const last = events[events.length - 1] as Record<string, any>;
    expect(last.error).toMatchObject({ type: 'server_error' });
    expect(events).not.toContain('[DONE]');

    await stack.waitUntilReady(60_000);
    const next = await chat({ model: QWEN, messages, max_tokens: 3 });
    expect(next.status).toBe(200);
    expect(next.body.choices[0].finish_reason).toBe('length');
  });

  it('a job active on a SIGKILLed worker is retried on the restarted one, not lost', async () => {
    const enqueue = async (): Promise<string> =>
      (await stack.request('/v1/self-test', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ size: 2048, wait_seconds: 0 }) })).body.id;
    // A queue of jobs keeps the worker busy, so one of them is certainly active when it dies.
    const ids = [await enqueue(), await enqueue(), await enqueue()];
    let active: string | undefined;
    await waitFor('a self-test job to be active', async () => {
      const states = await Promise.all(ids.map(async (id) => (await stack.request(`/v1/jobs/${id}`)).body));
      active = states.find((job) => job.status === 'active')?.id;
      return active !== undefined;
    }, 30_000, 20);
    process.kill(await workerPid(), 'SIGKILL');
    // BullMQ finds the dead worker's job by its expired lock and puts it back in the queue (libs/jobs processorOptions).
    await waitFor('every job to complete after the restart', async () => {
      const states = await Promise.all(ids.map(async (id) => (await stack.request(`/v1/jobs/${id}`)).body.status));
      expect(states).not.toContain('failed');
      return states.every((status) => status === 'completed');
    }, 45_000, 500);
    const retried = (await stack.request(`/v1/jobs/${active}`)).body;
    expect(retried.result).toMatchObject({ size: 2048 });
    expect(retried.result.max_abs_error).toBeLessThan(1e-2);
  });

  it('Redis stopped: chat keeps working over IPC, queue routes and readiness say 503, metrics still answer; all recover by themselves', async () => {
    await redis.stop();
    await waitFor('readiness to name redis', async () => {
      const ready = await stack.request('/health/ready');
      return ready.status === 503 && /redis/.test(ready.body.error.message);
    });
    const streamed: SseEvent[] = [];
    for await (const event of readSse(await postJson(stack.baseUrl, '/v1/chat/completions', { ...LONG, max_tokens: 5 }))) {
      streamed.push(event);
    }
    expect(streamed[streamed.length - 1]).toBe('[DONE]');
    expect((await chat({ model: QWEN, messages, max_tokens: 3 })).status).toBe(200);
    const queued = await stack.request('/v1/self-test', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"size":32}' });
    expect(queued.status).toBe(503);
    const metrics = await stack.request('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^mlx_omni_redis_up 0$/m);

    redis = await startRedis(redis.port);
    await stack.waitUntilReady(30_000);
    const job = await stack.request('/v1/self-test', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"size":32,"wait_seconds":30}' });
    expect(job.status).toBe(200);
    expect(job.body.status).toBe('completed');
  });

  it('SIGTERM: readiness and new requests answer 503 while an in-flight stream finishes, then everything exits', async () => {
    const pids = [await workerPid()];
    const apiPid = Number(/"service":"api","pid":(\d+)/.exec(stack.supervisor.output())?.[1]);
    expect(isAlive(apiPid)).toBe(true);
    // About two seconds of decoding: longer than the checks below, well inside the grace period.
    const response = await postJson(stack.baseUrl, '/v1/chat/completions', { ...LONG, max_tokens: 300 });
    const events = readSse(response);
    const first = await events.next();
    expect(first.done).toBe(false);

    stack.supervisor.child.kill('SIGTERM');
    await sleep(300);
    // The port stays open while the stream drains, so a load balancer sees the 503s and stops sending work.
    const ready = await stack.request('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.message).toMatch(/accepting/);
    const refused = await chat({ model: QWEN, messages, max_tokens: 2 });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('shutting_down');

    const rest: SseEvent[] = [];
    for await (const event of events) {
      rest.push(event);
    }
    expect(rest[rest.length - 1]).toBe('[DONE]');
    expect(rest.filter((event) => event !== '[DONE]' && event.error !== undefined)).toEqual([]);
    expect(await stack.supervisor.exited).toBe(0);
    for (const pid of [...pids, apiPid]) {
      expect(isAlive(pid)).toBe(false);
    }
  });
});
