import Anthropic, { AuthenticationError, BadRequestError, NotFoundError } from '@anthropic-ai/sdk';
import Ajv from 'ajv';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { hostileVariants, sendHostile } from './support/hostile-variants';
import { postDeclaringLength } from './support/raw-post';
import { postJson, readNamedEvents } from './support/sse';
import { startStack, type RunningStack } from './support/stack';

const QWEN = 'mlx-omni-test/tiny-qwen3-fp32';
const THINKER = 'mlx-omni-test/tiny-qwen3-thinking-fp32';
const KEY = 'anthropic-e2e-key-0123456789';

/** Sampling fields: Anthropic's newest SDK types leave them out (its newest models ignore them); the API still takes them. */
const sampling = (fields: { temperature?: number; top_p?: number; top_k?: number }): object => fields;
const GREEDY = sampling({ temperature: 0 });
const user = (content: string): Anthropic.MessageParam => ({ role: 'user', content });
const hello = [user('Name three colours.')];

/** A tool schema as Claude Code sends them: draft-07, closed objects, bounded so random weights finish it. */
const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer', minimum: 1, maximum: 9 } },
    required: ['city', 'days'],
    additionalProperties: false,
  },
};
const timeTool: Anthropic.Tool = {
  name: 'get_time',
  input_schema: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } }, required: ['zone'], additionalProperties: false },
};

describe('Anthropic Messages through @anthropic-ai/sdk (API → gateway → IPC → worker → MLX)', () => {
  let stack: RunningStack;
  let client: Anthropic;

  beforeAll(async () => {
    const hub = testHubDir();
    await ensureFixtures(hub, [QWEN, THINKER]);
    stack = await startStack({
      workers: 1,
      env: {
        HF_HUB_CACHE: hub,
        MLX_OMNI_API_KEY: KEY,
        MLX_OMNI_MODEL_ALIASES: `claude-sonnet-4-5=${QWEN},claude-haiku-*=${QWEN}`,
        MLX_OMNI_WORKER_MAX_PENDING: '2',
      },
    });
    await stack.waitUntilReady();
    client = new Anthropic({ baseURL: `${stack.baseUrl}/anthropic`, apiKey: KEY, maxRetries: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const headers = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' };

  it('answers with a message: msg_ id, the model as named, text, max_tokens, honest usage', async () => {
    const message = await client.messages.create({ model: QWEN, max_tokens: 6, messages: hello, ...GREEDY });
    expect(message.id).toMatch(/^msg_[a-zA-Z0-9]+$/);
    expect(message).toMatchObject({ type: 'message', role: 'assistant', model: QWEN, stop_reason: 'max_tokens', stop_sequence: null });
    expect(message.content).toHaveLength(1);
    expect(message.content[0].type).toBe('text');
    expect(message.usage).toMatchObject({ output_tokens: 6, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(message.usage.input_tokens).toBeGreaterThan(5);
  });

  it('top_p near 0 and top_p 0 are greedy, as temperature 0 is', async () => {
    const text = async (fields: { temperature?: number; top_p?: number; top_k?: number }) => {
      const message = await client.messages.create({ model: QWEN, max_tokens: 8, messages: hello, ...sampling(fields) });
      return (message.content[0] as Anthropic.TextBlock).text;
    };
    const greedy = await text({ temperature: 0 });
    expect(await text({ top_p: 1e-6 })).toBe(greedy);
    expect(await text({ top_p: 0 })).toBe(greedy);
    expect(await text({ top_k: 1 })).toBe(greedy);
  });

  it('streams named events that the SDK folds into the same message', async () => {
    const whole = await client.messages.create({ model: QWEN, max_tokens: 8, messages: hello, ...GREEDY });
    const stream = client.messages.stream({ model: QWEN, max_tokens: 8, messages: hello, ...GREEDY });
    let streamedText = '';
    stream.on('text', (delta) => {
      streamedText += delta;
    });
    const final = await stream.finalMessage();
    expect(final.content).toEqual(whole.content);
    expect(final.usage).toEqual(whole.usage);
    expect(final.stop_reason).toBe('max_tokens');
    expect(streamedText).toBe((whole.content[0] as Anthropic.TextBlock).text);

    const events = await readNamedEvents(await postJson(stack.baseUrl, '/anthropic/v1/messages', { model: QWEN, max_tokens: 8, messages: hello, ...GREEDY, stream: true }, { headers }));
    for (const { event, data } of events) {
      expect(event).toBe(data.type);
    }
    const types = events.map(({ data }) => data.type).filter((type) => type !== 'ping');
    expect(types[0]).toBe('message_start');
    expect(events[0].data.message.usage.input_tokens).toBe(whole.usage.input_tokens);
    expect(types.slice(1, 2)).toEqual(['content_block_start']);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(events.find(({ data }) => data.type === 'message_delta')!.data).toMatchObject({ delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 8 } });
  });

  it('stops at a stop sequence, names it, and leaves it out of the text', async () => {
    const greedy = (await client.messages.create({ model: QWEN, max_tokens: 12, messages: hello, ...GREEDY })).content[0] as Anthropic.TextBlock;
    const stop = greedy.text.slice(3, 8);
    const stopped = await client.messages.create({ model: QWEN, max_tokens: 12, messages: hello, ...GREEDY, stop_sequences: ['never-there', stop] });
    expect(stopped).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: stop });
    expect((stopped.content[0] as Anthropic.TextBlock).text).toBe(greedy.text.slice(0, greedy.text.indexOf(stop)));
    const streamed = await client.messages.stream({ model: QWEN, max_tokens: 12, messages: hello, ...GREEDY, stop_sequences: [stop] }).finalMessage();
    expect(streamed).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: stop, content: stopped.content });
  });

  it('tool_choice any and tool force a valid call: toolu_ id, input matching the schema, stop_reason tool_use', async () => {
    const validate = new Ajv({ strict: false }).compile(weatherTool.input_schema);
    const forced = await client.messages.create({
      model: QWEN,
      max_tokens: 200,
      messages: [user('Weather in Oslo?')],
      tools: [weatherTool, timeTool],
      // One call: a list of parallel calls is unbounded, and random weights may keep adding calls past max_tokens.
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
    });
    expect(forced.stop_reason).toBe('tool_use');
    const call = forced.content.find((block) => block.type === 'tool_use') as Anthropic.ToolUseBlock;
    expect(call.id).toMatch(/^toolu_[a-zA-Z0-9_-]+$/);
    expect(call.name).toBe('get_weather');
    expect(validate(call.input)).toBe(true);

    const single = await client.messages.create({
      model: QWEN,
      max_tokens: 200,
      ...sampling({ temperature: 1 }),
      messages: [user('Weather and time?')],
      tools: [weatherTool, timeTool],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
    });
    expect(single.stop_reason).toBe('tool_use');
    expect(single.content.filter((block) => block.type === 'tool_use')).toHaveLength(1);
  });

  it('streams a tool call as input_json_delta pieces that join into its input', async () => {
    const request = { model: QWEN, max_tokens: 200, ...GREEDY, messages: [user('Weather in Oslo?')], tools: [weatherTool], tool_choice: { type: 'any' as const, disable_parallel_tool_use: true } };
    const whole = await client.messages.create(request);
    const stream = client.messages.stream(request);
    let json = '';
    stream.on('inputJson', (delta) => {
      json += delta;
    });
    const final = await stream.finalMessage();
    const call = final.content.find((block) => block.type === 'tool_use') as Anthropic.ToolUseBlock;
    expect(JSON.parse(json)).toEqual(call.input);
    expect(call.input).toEqual((whole.content.find((block) => block.type === 'tool_use') as Anthropic.ToolUseBlock).input);
    expect(final.stop_reason).toBe('tool_use');
  });

  it('takes a tool_result round trip, with an image in the result as a text placeholder', async () => {
    const history = (result: Anthropic.ToolResultBlockParam['content']): Anthropic.MessageParam[] => [
      user('Look at the chart and say what it shows.'),
      { role: 'assistant', content: [{ type: 'text', text: 'Reading it.' }, { type: 'tool_use', id: 'toolu_01', name: 'read_file', input: { path: 'chart.png' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: result }, { type: 'text', text: 'Well?' }] },
    ];
    const tools: Anthropic.Tool[] = [{ name: 'read_file', input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } }];
    const image: Anthropic.ImageBlockParam = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } };
    const answer = await client.messages.create({ model: QWEN, max_tokens: 4, messages: history([image]), tools });
    expect(answer.usage.output_tokens).toBe(4);
    const withImage = await client.messages.countTokens({ model: QWEN, messages: history([image]), tools });
    const withPlaceholder = await client.messages.countTokens({ model: QWEN, messages: history('[image omitted: this model reads text only]'), tools });
    expect(withImage.input_tokens).toBe(withPlaceholder.input_tokens);
    // Anthropic's input_tokens leave out what was read from the prompt cache.
    expect(answer.usage.input_tokens + (answer.usage.cache_read_input_tokens ?? 0)).toBe(withImage.input_tokens);
  });

  it('refuses a top-level image with a clear 400 in Anthropic’s envelope', async () => {
    const request = client.messages.create({
      model: QWEN,
      max_tokens: 4,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] }],
    });
    await expect(request).rejects.toBeInstanceOf(BadRequestError);
    await expect(request).rejects.toMatchObject({ error: { type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/image blocks need a model that reads them/) } } });
  });

  it('thinking: blocks first with a signature when asked, none when not', async () => {
    const thought = await client.messages.create({ model: THINKER, max_tokens: 5, messages: hello, ...GREEDY, thinking: { type: 'enabled', budget_tokens: 1024 } });
    const first = thought.content[0] as Anthropic.ThinkingBlock;
    expect(first.type).toBe('thinking');
    expect(first.thinking.length).toBeGreaterThan(0);
    expect(first.signature.length).toBeGreaterThan(0);

    const streamedEvents = await readNamedEvents(
      await postJson(stack.baseUrl, '/anthropic/v1/messages', { model: THINKER, max_tokens: 5, messages: hello, ...GREEDY, stream: true, thinking: { type: 'enabled', budget_tokens: 1024 } }, { headers }),
    );
    const deltas = streamedEvents.filter(({ data }) => data.type === 'content_block_delta' && data.index === 0).map(({ data }) => data.delta.type);
    expect(deltas.at(-1)).toBe('signature_delta');
    expect(new Set(deltas.slice(0, -1))).toEqual(new Set(['thinking_delta']));
    const streamed = await client.messages.stream({ model: THINKER, max_tokens: 5, messages: hello, ...GREEDY, thinking: { type: 'enabled', budget_tokens: 1024 } }).finalMessage();
    expect(streamed.content).toEqual(thought.content);

    const plain = await client.messages.create({ model: THINKER, max_tokens: 5, messages: hello, ...GREEDY });
    expect(plain.content.some((block) => block.type === 'thinking')).toBe(false);
    // Qwen3's template asked not to think writes an empty think block: four more prompt tokens.
    const on = await client.messages.countTokens({ model: QWEN, messages: hello, thinking: { type: 'enabled', budget_tokens: 1024 } });
    const off = await client.messages.countTokens({ model: QWEN, messages: hello });
    expect(off.input_tokens).toBe(on.input_tokens + 4);
  });

  it('counts tokens exactly as the usage of the same request reports them', async () => {
    const request = { model: QWEN, system: 'Be brief.', messages: hello, tools: [weatherTool] };
    const counted = await client.messages.countTokens(request);
    const message = await client.messages.create({ ...request, max_tokens: 2 });
    expect(counted.input_tokens).toBe(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0));
  });

  it('reports a repeated prefix as cache_read_input_tokens, and input_tokens as only what was computed', async () => {
    const request = { model: QWEN, system: `Run ${Date.now()}: be brief and exact.`, messages: hello, max_tokens: 3, ...GREEDY };
    const cold = await client.messages.create(request);
    const coldCached = cold.usage.cache_read_input_tokens ?? 0;
    // At most the chat template's opening tokens, which every earlier request of this key shared.
    expect(coldCached).toBeLessThan(8);
    const warm = await client.messages.create(request);
    // Everything but the last prompt token, which is fed to produce the first new one.
    expect(warm.usage).toMatchObject({ cache_read_input_tokens: cold.usage.input_tokens + coldCached - 1, input_tokens: 1, cache_creation_input_tokens: 0 });
    expect(warm.content).toEqual(cold.content);
  });

  it('refuses an over-long prompt in the words Claude Code looks for', async () => {
    const long = 'hello '.repeat(41_000);
    await expect(client.messages.create({ model: QWEN, max_tokens: 4, messages: [user(long)] })).rejects.toMatchObject({
      status: 400,
      error: { error: { type: 'invalid_request_error', message: expect.stringMatching(/^prompt is too long: \d+ tokens > 40960 maximum$/) } },
    });
  });

  it('lists chat models and aliases newest first, paged by id, and describes one', async () => {
    const all = await client.models.list({ limit: 1000 });
    const ids = all.data.map((model) => model.id);
    expect(ids).toEqual(expect.arrayContaining([QWEN, THINKER, 'claude-sonnet-4-5']));
    expect(ids).not.toContain('claude-haiku-*');
    const created = all.data.map((model) => Date.parse(model.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    const walked: string[] = [];
    for await (const model of client.models.list({ limit: 2 })) {
      walked.push(model.id);
    }
    expect(walked).toEqual(ids);
    const firstPage = await client.models.list({ limit: 2 });
    expect(firstPage).toMatchObject({ has_more: ids.length > 2, first_id: ids[0], last_id: ids[1] });
    const before = await stack.request(`/anthropic/v1/models?before_id=${encodeURIComponent(ids[2])}&limit=1`, { headers });
    expect(before.body).toMatchObject({ data: [{ id: ids[1] }], has_more: true });
    expect(await client.models.retrieve('claude-sonnet-4-5')).toMatchObject({ type: 'model', id: 'claude-sonnet-4-5' });
    await expect(client.models.retrieve('no-org/no-model')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('serves a Claude Code-shaped session: ?beta=true, beta headers, cache_control everywhere, an alias, streaming, then a forced tool call', async () => {
    const system: Anthropic.TextBlockParam[] = [
      { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." },
      { type: 'text', text: 'You are an interactive CLI tool that helps users with software engineering tasks.', cache_control: { type: 'ephemeral' } },
    ];
    const tools = [weatherTool, { ...timeTool, cache_control: { type: 'ephemeral' as const } }];
    const messages: Anthropic.Beta.BetaMessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: '<system-reminder>Project context.</system-reminder>' }, { type: 'text', text: 'What is the weather?', cache_control: { type: 'ephemeral' } }] },
    ];
    const betas = ['claude-code-20250219', 'interleaved-thinking-2025-05-14', 'fine-grained-tool-streaming-2025-05-14'];
    const stream = client.beta.messages.stream({
      model: 'claude-sonnet-4-5',
      max_tokens: 8,
      system,
      tools,
      messages,
      metadata: { user_id: 'user_abc_account__session_123' },
      betas,
      ...sampling({ temperature: 1 }),
    });
    const final = await stream.finalMessage();
    expect(final.model).toBe('claude-sonnet-4-5');
    expect(['end_turn', 'max_tokens', 'tool_use']).toContain(final.stop_reason);
    expect(final.usage.input_tokens).toBeGreaterThan(20);

    // Greedy and one call, so the forced call always fits in max_tokens whatever the random weights pick.
    const background = await client.beta.messages.create({
      model: 'claude-haiku-4-5-20251001',
      max_tokens: 300,
      system,
      tools,
      messages,
      betas,
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      ...GREEDY,
    });
    expect(background.stop_reason).toBe('tool_use');
    const call = background.content.find((block) => block.type === 'tool_use') as Anthropic.Beta.BetaToolUseBlock;
    const schema = tools.find((tool) => tool.name === call.name)!.input_schema;
    expect(new Ajv({ strict: false }).compile(schema)(call.input)).toBe(true);
  });

  it('answers auth, validation, unknown routes, body size and JSON depth in Anthropic’s envelope', async () => {
    const envelope = (type: string) => ({ type: 'error', error: { type, message: expect.any(String) } });
    await expect(new Anthropic({ baseURL: `${stack.baseUrl}/anthropic`, apiKey: 'wrong-key-0123456789', maxRetries: 0 }).messages.create({ model: QWEN, max_tokens: 1, messages: hello })).rejects.toBeInstanceOf(AuthenticationError);
    const bearer = new Anthropic({ baseURL: `${stack.baseUrl}/anthropic`, apiKey: null, authToken: KEY, maxRetries: 0 });
    expect((await bearer.messages.countTokens({ model: QWEN, messages: hello })).input_tokens).toBeGreaterThan(0);
    const missingKey = await stack.request('/anthropic/v1/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([missingKey.status, missingKey.body]).toEqual([401, envelope('authentication_error')]);
    const noMaxTokens = await stack.request('/anthropic/v1/messages', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ model: QWEN, messages: hello }) });
    expect([noMaxTokens.status, noMaxTokens.body]).toEqual([400, envelope('invalid_request_error')]);
    const unknownModel = await stack.request('/anthropic/v1/messages', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'no-org/no-model', max_tokens: 1, messages: hello }) });
    expect([unknownModel.status, unknownModel.body]).toEqual([404, envelope('not_found_error')]);
    const unknownRoute = await stack.request('/anthropic/v1/nothing-here', { headers });
    expect([unknownRoute.status, unknownRoute.body]).toEqual([404, envelope('not_found_error')]);
    const tooLarge = await postDeclaringLength(`${stack.baseUrl}/anthropic/v1/messages`, 33 * 1024 * 1024);
    expect([tooLarge.status, tooLarge.body]).toEqual([413, envelope('request_too_large')]);
    const deep = await stack.request('/anthropic/v1/messages', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '['.repeat(100) + ']'.repeat(100) });
    expect([deep.status, deep.body]).toEqual([400, envelope('invalid_request_error')]);
  });

  it('answers every hostile variation of a Claude Code-shaped request without a 5xx, each 4xx in Anthropic’s envelope', async () => {
    const valid = {
      model: 'claude-sonnet-4-5',
      max_tokens: 1,
      system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }],
      tools: [{ name: 'get_time', input_schema: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC'] } } } }],
      tool_choice: { type: 'auto' },
      thinking: { type: 'enabled', budget_tokens: 1024 },
      stop_sequences: ['END'],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Time?' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_time', input: { zone: 'UTC' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '12:00' }] }] },
      ],
    };
    const variants = hostileVariants(valid);
    expect(variants.length).toBeGreaterThan(300);
    const isAnthropicEnvelope = (body: any) => body?.type === 'error' && typeof body.error?.type === 'string' && typeof body.error.message === 'string';
    // One at a time: this stack's only worker takes two requests (MLX_OMNI_WORKER_MAX_PENDING), heartbeats included.
    expect(await sendHostile(`${stack.baseUrl}/anthropic/v1/messages`, headers, variants, isAnthropicEnvelope, 1)).toEqual([]);
    expect(await sendHostile(`${stack.baseUrl}/anthropic/v1/messages/count_tokens`, headers, variants.slice(0, 120), isAnthropicEnvelope, 1)).toEqual([]);
  }, 600_000);

  it('answers 529 overloaded_error when every worker is full', async () => {
    // MLX_OMNI_WORKER_MAX_PENDING=2: by the third long stream at the latest, the only worker is full.
    const controller = new AbortController();
    const long = { model: QWEN, max_tokens: 4000, messages: hello, stream: true };
    let refused: Response | undefined;
    try {
      for (let attempt = 0; attempt < 3 && refused === undefined; attempt += 1) {
        const response = await postJson(stack.baseUrl, '/anthropic/v1/messages', long, { headers, signal: controller.signal });
        if (response.status !== 200) {
          refused = response;
        }
      }
      expect(refused?.status).toBe(529);
      expect(await refused!.json()).toEqual({ type: 'error', error: { type: 'overloaded_error', message: expect.any(String) } });
      expect(refused!.headers.get('retry-after')).toBe('1');
    } finally {
      controller.abort();
    }
  });
});
