import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { postJson, readSse } from './support/sse';
import { startStack, type RunningStack } from './support/stack';

const QWEN = 'mlx-omni-test/tiny-qwen3-fp32';
const CLIENTS = 24;
/** Far below CLIENTS, so the worker's bound is reached and the API must refuse some with 503. */
const MAX_PENDING = 4;
/** Keys on, so the per-key counters have a name to count under (the single key is named `admin`). */
const API_KEY = 'load-test-key-0123456789';
const AUTH = { authorization: `Bearer ${API_KEY}` };

const requestFor = (client: number) => ({
  model: QWEN,
  messages: [{ role: 'user', content: `Client ${client}: tell me a story about the number ${client * 7}.` }],
  max_tokens: 16,
  temperature: 0,
});

describe(`${CLIENTS} concurrent streaming clients against one worker (real stack, loopback)`, () => {
  let stack: RunningStack;

  beforeAll(async () => {
    const hub = testHubDir();
    await ensureFixtures(hub, [QWEN]);
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: hub, MLX_OMNI_WORKER_MAX_PENDING: String(MAX_PENDING), MLX_OMNI_LOG_LEVEL: 'warn', MLX_OMNI_API_KEY: API_KEY } });
    await stack.waitUntilReady();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('refuses the excess with 503 + Retry-After, and every accepted stream carries exactly its own greedy answer', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const response = await postJson(stack.baseUrl, '/v1/chat/completions', { ...requestFor(client), stream: true }, { headers: AUTH });
        if (response.status !== 200) {
          return { client, status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
        }
        let text = '';
        const ids = new Set<string>();
        const events: unknown[] = [];
        for await (const event of readSse(response)) {
          events.push(event);
          if (event !== '[DONE]') {
            ids.add(event.id);
            text += event.choices?.[0]?.delta?.content ?? '';
          }
        }
        return { client, status: 200, text, ids, last: events[events.length - 1], errors: events.filter((event: any) => event?.error !== undefined) };
      }),
    );

    const refused = outcomes.filter((outcome) => outcome.status === 503);
    const served = outcomes.filter((outcome) => outcome.status === 200);
    expect(outcomes.filter((outcome) => outcome.status !== 200 && outcome.status !== 503)).toEqual([]);
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThanOrEqual(MAX_PENDING);
    for (const outcome of refused) {
      expect(outcome.retryAfter).not.toBeNull();
      expect((outcome as any).body.error).toMatchObject({ code: 'workers_busy' });
    }
    const ids = new Set<string>();
    for (const outcome of served as any[]) {
      expect(outcome.errors).toEqual([]);
      expect(outcome.last).toBe('[DONE]');
      // One completion id per stream, never shared: no chunk wandered into another client's stream.
      expect(outcome.ids.size).toBe(1);
      ids.add([...outcome.ids][0]);
    }
    expect(ids.size).toBe(served.length);

    // Without load, one at a time, the same greedy requests must give the same text: nothing lost or mixed in.
    for (const outcome of served as any[]) {
      const whole = await stack.request('/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...AUTH },
        body: JSON.stringify(requestFor(outcome.client)),
      });
      expect(whole.status).toBe(200);
      expect([outcome.client, outcome.text]).toEqual([outcome.client, whole.body.choices[0].message.content]);
    }
  });

  it('exposes the inference metrics of that load, and the exposition passes promtool', async () => {
    const { text } = await stack.request('/metrics');
    const model = `model="${QWEN}"`;
    for (const name of ['time_to_first_token_seconds_count', 'inter_token_latency_seconds_count', 'e2e_request_latency_seconds_count', 'prompt_tokens_total', 'generation_tokens_total']) {
      expect(text).toMatch(new RegExp(`^mlx_omni_${name}\\{${model}\\} [1-9]`, 'm'));
    }
    expect(text).toMatch(new RegExp(`^mlx_omni_num_requests_running\\{${model}\\} 0$`, 'm'));
    expect(text).toMatch(new RegExp(`^mlx_omni_num_requests_waiting\\{${model}\\} 0$`, 'm'));
    expect(text).toMatch(/^mlx_omni_queue_jobs\{queue="diagnostics",state="waiting"\} 0$/m);
    // Counted under the key's name; the key itself appears nowhere.
    expect(text).toMatch(/^mlx_omni_key_requests_total\{key="admin",route="\/v1\/chat\/completions",status_code="200"\} [1-9]/m);
    expect(text).toMatch(/^mlx_omni_key_requests_total\{key="admin",route="\/v1\/chat\/completions",status_code="503"\} [1-9]/m);
    expect(text).not.toContain(API_KEY);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stderr + lint.stdout).toBe('');
    expect(lint.status).toBe(0);

    // The Grafana dashboard charts only series the service exports.
    const dashboard = readFileSync(resolve(__dirname, '..', 'docker', 'grafana-dashboard.json'), 'utf8');
    const charted = new Set([...dashboard.matchAll(/mlx_omni_[a-z0-9_]+/g)].map(([name]) => name.replace(/_(bucket|count|sum)$/, '')));
    const exported = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map(([, name]) => name));
    expect([...charted].filter((name) => !exported.has(name))).toEqual([]);
  });
});
