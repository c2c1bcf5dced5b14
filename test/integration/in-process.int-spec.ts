import type Anthropic from '@anthropic-ai/sdk';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { expectOpenAiSchema } from '@mlx-omni/openai-dto/testing';
import { startInProcessServer, type InProcessServer } from 'mlx-omni-server/testing';

const QWEN = 'mlx-omni-test/tiny-qwen3-fp32';
const hello = [{ role: 'user' as const, content: 'Name three colours.' }];

/** The in-process server (mlx-omni-server/testing) as users' tests get it: no port, no worker process, real routes and MLX. */
describe('the server in-process, through the OpenAI and Anthropic clients it hands back', () => {
  let server: InProcessServer;

  beforeAll(async () => {
    const hub = testHubDir();
    await ensureFixtures(hub, [QWEN]);
    server = await startInProcessServer({ env: { HF_HUB_CACHE: hub, MLX_OMNI_MODEL_ALIASES: `claude-sonnet-4-5=${QWEN}` } });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('answers chat completions, whole and streamed alike', async () => {
    const whole = await server.openai.chat.completions.create({ model: QWEN, messages: hello, max_tokens: 6, temperature: 0 });
    expectOpenAiSchema('CreateChatCompletionResponse', whole);
    let streamed = '';
    for await (const chunk of await server.openai.chat.completions.create({ model: QWEN, messages: hello, max_tokens: 6, temperature: 0, stream: true })) {
      streamed += chunk.choices[0]?.delta.content ?? '';
    }
    expect(streamed).toBe(whole.choices[0].message.content);
  });

  it('answers Anthropic messages through an alias, streamed with named events', async () => {
    const message = await server.anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: hello, ...({ temperature: 0 } as object) });
    expect(message).toMatchObject({ type: 'message', model: 'claude-sonnet-4-5', stop_reason: 'max_tokens', usage: { output_tokens: 5 } });
    const streamed = await server.anthropic.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: hello, ...({ temperature: 0 } as object) }).finalMessage();
    expect(streamed.content).toEqual(message.content);
  });

  it('stores responses in Redis and chains them', async () => {
    const first = await server.openai.responses.create({ model: QWEN, input: 'One', max_output_tokens: 3 });
    expect((await server.openai.responses.retrieve(first.id)).id).toBe(first.id);
    const second = await server.openai.responses.create({ model: QWEN, input: 'Two', previous_response_id: first.id, max_output_tokens: 3 });
    expect(second.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens);
  });

  it('answers errors in each surface’s envelope, as the real server does', async () => {
    const missing = await server.fetch('http://in-process/anthropic/v1/models/no-org/no-model');
    expect([missing.status, await missing.json()]).toEqual([404, { type: 'error', error: { type: 'not_found_error', message: expect.any(String) } }]);
    const openAi = await server.fetch('http://in-process/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":1}' });
    expect(openAi.status).toBe(400);
    expect((await openAi.json()) as { error: { param: string } }).toMatchObject({ error: { param: 'model' } });
  });

  it('cancels the worker’s request when the client leaves a stream early', async () => {
    const stream = server.anthropic.messages.stream({ model: QWEN, max_tokens: 5000, messages: hello } as Anthropic.MessageStreamParams);
    let deltas = 0;
    for await (const event of stream) {
      if (event.type === 'content_block_delta' && ++deltas === 3) {
        break;
      }
    }
    const activeRequests = async () => ((await (await server.fetch('http://in-process/v1/workers')).json()) as { data: Array<{ active_requests: number }> }).data[0].active_requests;
    for (let tries = 0; tries < 50 && (await activeRequests()) > 0; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await activeRequests()).toBe(0);
  });
});
