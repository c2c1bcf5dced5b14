import Ajv from 'ajv';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { expectOpenAiEvent, expectOpenAiSchema } from '@mlx-omni/openai-dto/testing';
import { hostileVariants, sendHostile } from './support/hostile-variants';
import { postJson, readNamedEvents } from './support/sse';
import { startStack, type RunningStack } from './support/stack';

const QWEN = 'mlx-omni-test/tiny-qwen3-fp32';
const THINKER = 'mlx-omni-test/tiny-qwen3-thinking-fp32';

const weather: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather for a city',
  strict: true,
  parameters: {
    type: 'object',
    properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer', minimum: 1, maximum: 9 } },
    required: ['city', 'days'],
    additionalProperties: false,
  },
};

/** What every streamed event must be: valid against OpenAI's schema, numbered in order from 0. */
function expectValidStream(events: Array<{ type: string; sequence_number: number }>): void {
  events.forEach((event, index) => {
    expectOpenAiEvent('ResponseStreamEvent', event);
    expect(event.sequence_number).toBe(index);
  });
}

describe('OpenAI Responses through the official client (API → gateway → IPC → worker → MLX)', () => {
  let stack: RunningStack;
  let client: OpenAI;

  beforeAll(async () => {
    const hub = testHubDir();
    await ensureFixtures(hub, [QWEN, THINKER]);
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: hub, MLX_OMNI_RESPONSES_TTL_S: '600' } });
    await stack.waitUntilReady();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers with a schema-valid response: resp_ and msg_ ids, output_text with logprobs [], usage', async () => {
    const response = await client.responses.create({ model: QWEN, input: 'Name three colours.', temperature: 0, max_output_tokens: 6 });
    expectOpenAiSchema('Response', response);
    expect(response.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(response).toMatchObject({ object: 'response', model: QWEN, status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    const message = response.output[0] as OpenAI.Responses.ResponseOutputMessage;
    expect(message).toMatchObject({ type: 'message', role: 'assistant', id: expect.stringMatching(/^msg_/) });
    expect(message.content[0]).toMatchObject({ type: 'output_text', logprobs: [], annotations: [] });
    expect(response.output_text).toBe((message.content[0] as OpenAI.Responses.ResponseOutputText).text);
    expect(response.usage).toMatchObject({ output_tokens: 6, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } });
    expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + 6);
  });

  it('top_p near 0 and top_p 0 are greedy, as temperature 0 is', async () => {
    const text = async (sampling: { temperature?: number; top_p?: number }) => (await client.responses.create({ model: QWEN, input: 'Hello', max_output_tokens: 8, ...sampling })).output_text;
    const greedy = await text({ temperature: 0 });
    expect(await text({ top_p: 1e-6 })).toBe(greedy);
    expect(await text({ top_p: 0 })).toBe(greedy);
  });

  it('streams the full event sequence, each event schema-valid and numbered, into the same response', async () => {
    const request = { model: QWEN, input: 'Name three colours.', temperature: 0, max_output_tokens: 8 };
    const whole = await client.responses.create(request);
    const stream = client.responses.stream(request);
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) {
      events.push(event);
    }
    const final = await stream.finalResponse();
    expectValidStream(events);
    expect(final.output_text).toBe(whole.output_text);
    expect(final.usage).toEqual(whole.usage);
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...events.filter((event) => event.type === 'response.output_text.delta').map(() => 'response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.incomplete',
    ]);

    const raw = await readNamedEvents(await postJson(stack.baseUrl, '/v1/responses', { ...request, stream: true }));
    for (const { event, data } of raw) {
      expect(event).toBe(data.type);
    }
  });

  it('function tools: required and named choices give valid calls (fc_ item, call_ id), streamed as argument deltas', async () => {
    const validate = new Ajv({ strict: false }).compile(weather.parameters!);
    for (const tool_choice of ['required', { type: 'function', name: 'get_weather' }] as const) {
      const response = await client.responses.create({ model: QWEN, input: 'Weather in Oslo?', tools: [weather], tool_choice, parallel_tool_calls: false, max_output_tokens: 200 });
      expectOpenAiSchema('Response', response);
      expect(response.status).toBe('completed');
      const calls = response.output.filter((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall[];
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ name: 'get_weather', id: expect.stringMatching(/^fc_/), call_id: expect.stringMatching(/^call_/) });
      expect(validate(JSON.parse(calls[0].arguments))).toBe(true);
    }
    const stream = client.responses.stream({ model: QWEN, input: 'Weather?', tools: [weather], tool_choice: 'required', parallel_tool_calls: false, temperature: 0, max_output_tokens: 200 });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) {
      events.push(event);
    }
    expectValidStream(events);
    const deltas = events.filter((event) => event.type === 'response.function_call_arguments.delta').map((event) => event.delta).join('');
    const done = events.find((event) => event.type === 'response.function_call_arguments.done') as OpenAI.Responses.ResponseFunctionCallArgumentsDoneEvent;
    expect(deltas).toBe(done.arguments);
    expect(((await stream.finalResponse()).output[0] as OpenAI.Responses.ResponseFunctionToolCall).arguments).toBe(done.arguments);
    const none = await client.responses.create({ model: QWEN, input: 'Weather?', tools: [weather], tool_choice: 'none', max_output_tokens: 4 });
    expect(none.output.some((item) => item.type === 'function_call')).toBe(false);
  });

  it('text.format json_schema and json_object are enforced', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 10 }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false };
    const structured = await client.responses.create({ model: QWEN, input: 'A person', text: { format: { type: 'json_schema', name: 'person', schema, strict: true } }, max_output_tokens: 120 });
    expectOpenAiSchema('Response', structured);
    expect(new Ajv().compile(schema)(JSON.parse(structured.output_text))).toBe(true);
    const object = await client.responses.create({ model: QWEN, input: 'Any JSON', text: { format: { type: 'json_object' } }, max_output_tokens: 200, temperature: 0 });
    expect(typeof JSON.parse(object.output_text)).toBe('object');
  });

  it('reasoning models: a reasoning item (rs_) first, reasoning tokens counted; reasoning.effort reaches the template', async () => {
    const response = await client.responses.create({ model: THINKER, input: 'Think.', max_output_tokens: 5, temperature: 0 });
    expectOpenAiSchema('Response', response);
    const reasoning = response.output[0] as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning).toMatchObject({ type: 'reasoning', id: expect.stringMatching(/^rs_/), summary: [] });
    expect(reasoning.content![0].text.length).toBeGreaterThan(0);
    // Every token was reasoning; the worker counts those whose text it could attribute as they came.
    expect(response.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(response.usage!.output_tokens_details.reasoning_tokens).toBeLessThanOrEqual(response.usage!.output_tokens);
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of client.responses.stream({ model: THINKER, input: 'Think.', max_output_tokens: 5, temperature: 0 })) {
      events.push(event);
    }
    expectValidStream(events);
    const deltas = events.filter((event) => event.type === 'response.reasoning_text.delta').map((event) => event.delta).join('');
    expect(deltas).toBe(reasoning.content![0].text);
    // Qwen3's template with thinking off (effort none) writes an empty think block: four more prompt tokens.
    const none = await client.responses.create({ model: QWEN, input: 'Hi', max_output_tokens: 1, reasoning: { effort: 'none' } });
    const medium = await client.responses.create({ model: QWEN, input: 'Hi', max_output_tokens: 1, reasoning: { effort: 'medium' } });
    expect(none.usage!.input_tokens).toBe(medium.usage!.input_tokens + 4);
  });

  it('stores responses: retrieve, input_items (order, limit, after), delete; store: false is never kept', async () => {
    const input: OpenAI.Responses.ResponseInput = [
      { role: 'developer', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'input_text', text: 'First' }] },
      { role: 'user', content: 'Second' },
    ];
    const created = await client.responses.create({ model: QWEN, input, max_output_tokens: 3, metadata: { ticket: '42' } });
    const fetched = await client.responses.retrieve(created.id);
    expectOpenAiSchema('Response', fetched);
    expect(fetched).toEqual(created);
    expectOpenAiSchema('ResponseItemList', (await stack.request(`/v1/responses/${created.id}/input_items`)).body);
    const desc = await client.responses.inputItems.list(created.id);
    const texts = (page: { data: any[] }) => page.data.map((item) => item.content[0].text);
    expect(texts(desc)).toEqual(['Second', 'First', 'Be brief.']);
    const asc = await client.responses.inputItems.list(created.id, { order: 'asc', limit: 2 });
    expect(texts(asc)).toEqual(['Be brief.', 'First']);
    expect(asc.has_more).toBe(true);
    const rest = await client.responses.inputItems.list(created.id, { order: 'asc', after: asc.data[1].id });
    expect(texts(rest)).toEqual(['Second']);
    expect((await client.responses.delete(created.id)) as unknown).toEqual({ id: created.id, object: 'response', deleted: true });
    await expect(client.responses.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
    const unstored = await client.responses.create({ model: QWEN, input: 'x', max_output_tokens: 1, store: false });
    expect((unstored as unknown as { store: boolean }).store).toBe(false);
    await expect(client.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.responses.create({ model: QWEN, input: 'y', previous_response_id: unstored.id, max_output_tokens: 1 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('previous_response_id gives exactly the prompt that re-sending the whole conversation gives; instructions are not carried', async () => {
    const first = [{ role: 'user' as const, content: 'Weather in Oslo?' }];
    const call = await client.responses.create({ model: QWEN, instructions: 'Use tools.', input: first, tools: [weather], tool_choice: 'required', parallel_tool_calls: false, max_output_tokens: 200 });
    const callItem = call.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    const result: OpenAI.Responses.ResponseInputItem = { type: 'function_call_output', call_id: callItem.call_id, output: '{"sky":"clear"}' };
    const chained = await client.responses.create({ model: QWEN, previous_response_id: call.id, input: [result], tools: [weather], temperature: 0, max_output_tokens: 6 });
    const resent = await client.responses.create({ model: QWEN, input: [...first, ...(call.output as OpenAI.Responses.ResponseInputItem[]), result], tools: [weather], temperature: 0, max_output_tokens: 6, store: false });
    expect(chained.previous_response_id).toBe(call.id);
    expect(chained.usage!.input_tokens).toBe(resent.usage!.input_tokens);
    expect(chained.output_text).toBe(resent.output_text);
    const withOldInstructions = await client.responses.create({ model: QWEN, instructions: 'Use tools.', input: [...first, ...(call.output as OpenAI.Responses.ResponseInputItem[]), result], tools: [weather], max_output_tokens: 1, store: false });
    expect(withOldInstructions.usage!.input_tokens).toBeGreaterThan(chained.usage!.input_tokens);

    // A reasoning model's turn chains the same way, its reasoning item included.
    const thought = await client.responses.create({ model: THINKER, input: 'One', max_output_tokens: 4, temperature: 0 });
    const next = await client.responses.create({ model: THINKER, previous_response_id: thought.id, input: 'Two', max_output_tokens: 3, temperature: 0 });
    const full = await client.responses.create({ model: THINKER, input: [{ role: 'user', content: 'One' }, ...(thought.output as OpenAI.Responses.ResponseInputItem[]), { role: 'user', content: 'Two' }], max_output_tokens: 3, temperature: 0, store: false });
    expect(next.usage!.input_tokens).toBe(full.usage!.input_tokens);
    expect(next.output).toHaveLength(full.output.length);
  });

  it('serves a Codex-shaped session: store false, full history each turn, reasoning items with encrypted content sent back', async () => {
    const shell: OpenAI.Responses.FunctionTool = {
      type: 'function',
      name: 'shell',
      description: 'Runs a shell command and returns its output.',
      strict: false,
      parameters: {
        type: 'object',
        properties: { command: { type: 'array', items: { type: 'string', maxLength: 8 }, maxItems: 3 }, workdir: { type: 'string', maxLength: 8 }, timeout_ms: { type: 'integer', maximum: 1000 } },
        required: ['command'],
        additionalProperties: false,
      },
    };
    const base = {
      model: THINKER,
      instructions: 'You are Codex, a coding agent based on GPT-5. You and the user share the same workspace.',
      tools: [shell],
      tool_choice: 'auto' as const,
      parallel_tool_calls: false,
      reasoning: { effort: 'medium' as const, summary: 'auto' as const },
      store: false,
      include: ['reasoning.encrypted_content' as const],
      prompt_cache_key: '3f0c2a8e-6b1d-4c55-9a43-0d2d1c7b9e10',
    };
    const userTurn: OpenAI.Responses.ResponseInputItem = { type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context>cwd: /repo</environment_context>' }, { type: 'input_text', text: 'List the files.' }] };
    const stream = client.responses.stream({ ...base, input: [userTurn], max_output_tokens: 5 });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) {
      events.push(event);
    }
    expectValidStream(events);
    const turn1 = await stream.finalResponse();
    const reasoning = turn1.output.find((item) => item.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.encrypted_content).toEqual(expect.any(String));
    await expect(client.responses.retrieve(turn1.id)).rejects.toBeInstanceOf(NotFoundError);

    // Codex sends reasoning back as it received it, without the text: the encrypted content alone must restore it.
    const opaque: OpenAI.Responses.ResponseInputItem = { type: 'reasoning', id: reasoning.id, summary: [], encrypted_content: reasoning.encrypted_content };
    const call: OpenAI.Responses.ResponseInputItem = { type: 'function_call', call_id: 'call_1', name: 'shell', arguments: '{"command":["ls"]}' };
    const output: OpenAI.Responses.ResponseInputItem = { type: 'function_call_output', call_id: 'call_1', output: 'README.md\nsrc' };
    const history = (thinking: OpenAI.Responses.ResponseInputItem) => [userTurn, thinking, call, output];
    const turn2 = await client.responses.create({ ...base, input: history(opaque), max_output_tokens: 3 });
    const explicit = await client.responses.create({ ...base, input: history({ type: 'reasoning', id: reasoning.id, summary: [], content: reasoning.content }), max_output_tokens: 3 });
    const forgotten = await client.responses.create({ ...base, input: history({ type: 'reasoning', id: reasoning.id, summary: [] }), max_output_tokens: 3 });
    expectOpenAiSchema('Response', turn2);
    expect(turn2.usage!.input_tokens).toBe(explicit.usage!.input_tokens);
    expect(turn2.usage!.input_tokens).toBeGreaterThan(forgotten.usage!.input_tokens);

    const forced = await client.responses.create({ ...base, model: QWEN, input: history(opaque), tool_choice: 'required', max_output_tokens: 200 });
    const shellCall = forced.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(new Ajv({ strict: false }).compile(shell.parameters!)(JSON.parse(shellCall.arguments))).toBe(true);
  });

  // Each variant the surface accepts runs a real generation (hundreds of them): a safety-net timeout, not a speed check.
  it('answers every hostile variation of a Codex-shaped request without a 5xx, each 4xx in OpenAI’s envelope', async () => {
    const valid = {
      model: QWEN,
      instructions: 'You are Codex.',
      max_output_tokens: 1,
      store: false,
      include: ['reasoning.encrypted_content'],
      reasoning: { effort: 'low' },
      tools: [{ type: 'function', name: 'shell', strict: false, parameters: { type: 'object', properties: { command: { type: 'string' } } } }],
      tool_choice: 'auto',
      text: { format: { type: 'text' } },
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'ls' }] },
        { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Run it.' }] },
        { type: 'function_call', call_id: 'call_1', name: 'shell', arguments: '{"command":"ls"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'README.md' },
      ],
    };
    const variants = hostileVariants(valid);
    expect(variants.length).toBeGreaterThan(300);
    const isOpenAiEnvelope = (body: any) => typeof body?.error?.message === 'string' && typeof body.error.type === 'string' && 'param' in body.error;
    expect(await sendHostile(`${stack.baseUrl}/v1/responses`, {}, variants, isOpenAiEnvelope, 4)).toEqual([]);
  }, 600_000);

  it.each([
    ['background mode', { background: true }, 'background'],
    ['a built-in tool', { tools: [{ type: 'web_search' }] }, 'tools[0].type'],
    ['a conversation', { conversation: 'conv_123' }, 'conversation'],
    ['an image', { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png' }] }] }, 'input[0].content[0]'],
    ['an item reference', { input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0].type'],
    ['a hosted tool choice', { tool_choice: { type: 'web_search_preview' } }, 'tool_choice'],
  ])('refuses %s with a clear 400', async (_name, fields, param) => {
    const request = client.responses.create({ model: QWEN, input: 'x', max_output_tokens: 1, ...fields } as never);
    await expect(request).rejects.toBeInstanceOf(BadRequestError);
    await expect(request).rejects.toMatchObject({ error: { param, type: 'invalid_request_error' } });
  });
});
