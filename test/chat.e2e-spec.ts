import Ajv from 'ajv';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { expectOpenAiSchema, itMatchesOpenAiContract } from '@mlx-omni/openai-dto/testing';
import { waitFor } from './support/processes';
import { startStack, type RunningStack } from './support/stack';

const QWEN = 'mlx-omni-test/tiny-qwen3-fp32';
const LLAMA = 'mlx-omni-test/tiny-llama-4bit';
const GPT_OSS = 'mlx-omni-test/tiny-gpt-oss-bf16';
const GLM = 'mlx-omni-test/tiny-glm4-moe-fp32';
const CODER = 'mlx-omni-test/tiny-qwen3-coder-fp32';
const MISTRAL_TOOLS = 'mlx-omni-test/tiny-mistral-tools-fp32';
const weatherTool: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } },
};
const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Name three colours.' },
];

// Listed models the chat route must refuse with a 400, never a 500: an architecture the engine does not run, and another kind.
const STARCODER = 'local/tiny-starcoder2';
const EMBEDDER = 'local/minilm';

/** A folder of local models (MLX_OMNI_MODEL_DIRS) with real files: a fixture's weights and tokenizer under other configs. */
async function writeLocalModels(qwenDir: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'omni-local-models-'));
  const place = async (id: string, config: object, extra: Record<string, string> = {}) => {
    const dir = join(root, id);
    await mkdir(dir, { recursive: true });
    await cp(join(qwenDir, 'model.safetensors'), join(dir, 'model.safetensors'));
    await cp(join(qwenDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    for (const [name, content] of Object.entries(extra)) {
      await writeFile(join(dir, name), content);
    }
  };
  await place(STARCODER, { model_type: 'starcoder2', architectures: ['Starcoder2ForCausalLM'], max_position_embeddings: 4096 });
  await place(EMBEDDER, { model_type: 'bert', architectures: ['BertModel'] }, { 'modules.json': '[]' });
  return root;
}

describe('chat completions through the official OpenAI client (API → IPC → worker → MLX)', () => {
  let stack: RunningStack;
  let client: OpenAI;
  let localModels: string;
  let qwenDir: string;

  beforeAll(async () => {
    const hub = testHubDir();
    const dirs = await ensureFixtures(hub, [QWEN, LLAMA, GPT_OSS, GLM, CODER, MISTRAL_TOOLS]);
    qwenDir = dirs.get(QWEN)!;
    localModels = await writeLocalModels(qwenDir);
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: hub, MLX_OMNI_MODEL_DIRS: localModels } });
    await stack.waitUntilReady();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(localModels, { recursive: true, force: true });
  });

  it('answers a plain request with a chat.completion and honest usage', async () => {
    const completion = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 6, temperature: 0 });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe(QWEN);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0].finish_reason).toBe('length');
    expect(completion.usage).toMatchObject({ completion_tokens: 6 });
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(10);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + 6);
  });

  itMatchesOpenAiContract('answers with objects that match OpenAI’s schemas: a completion, each chunk of a stream, a tool call', async () => {
    expectOpenAiSchema('CreateChatCompletionResponse', await client.chat.completions.create({ model: QWEN, messages, max_tokens: 6, temperature: 0 }));
    const stream = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 4, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) {
      expectOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
    }
    const parameters = { type: 'object', properties: { city: { type: 'string', maxLength: 8 } }, required: ['city'], additionalProperties: false };
    expectOpenAiSchema(
      'CreateChatCompletionResponse',
      await client.chat.completions.create({
        model: LLAMA,
        messages: [{ role: 'user', content: 'Weather in Oslo?' }],
        max_tokens: 60,
        tools: [{ type: 'function', function: { name: 'get_weather', parameters } }],
        tool_choice: 'required',
      }),
    );
  });

  it('streams chunks that add up to the same greedy answer, then usage and [DONE]', async () => {
    const whole = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 8, temperature: 0 });
    const stream = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(text).toBe(whole.choices[0].message.content);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(whole.usage);
    expect(chunks.filter((chunk) => chunk.choices[0]?.finish_reason === 'length')).toHaveLength(1);
  });

  it('returns n independent choices', async () => {
    const completion = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 4, n: 2, temperature: 1.5, seed: 1 });
    expect(completion.choices.map((choice) => choice.index)).toEqual([0, 1]);
    expect(completion.usage!.completion_tokens).toBe(8);
  });

  it('stops at a stop string that spans tokens, without emitting it', async () => {
    const greedy = (await client.chat.completions.create({ model: QWEN, messages, max_tokens: 12, temperature: 0 })).choices[0].message.content!;
    const stop = greedy.slice(3, 9);
    const stopped = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 12, temperature: 0, stop: [stop] });
    expect(stopped.choices[0].finish_reason).toBe('stop');
    expect(stopped.choices[0].message.content).toBe(greedy.slice(0, greedy.indexOf(stop)));
  });

  it('reports a logprob and the top alternatives for every generated token', async () => {
    const completion = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 3 });
    const entries = completion.choices[0].logprobs!.content!;
    expect(entries).toHaveLength(5);
    for (const entry of entries) {
      expect(entry.top_logprobs).toHaveLength(3);
      // Greedy: the chosen token is the most likely one.
      expect(entry.logprob).toBeCloseTo(entry.top_logprobs[0].logprob, 5);
      expect(entry.logprob).toBeLessThanOrEqual(0);
    }
    expect(entries.map((entry) => entry.token).join('')).toBe(completion.choices[0].message.content);
  });

  it('reproduces sampled output from a seed', async () => {
    const sample = (seed: number) => client.chat.completions.create({ model: QWEN, messages, max_tokens: 10, temperature: 1.5, seed });
    const [first, again, other] = await Promise.all([sample(7), sample(7), sample(8)]);
    expect(again.choices[0].message.content).toBe(first.choices[0].message.content);
    expect(other.choices[0].message.content).not.toBe(first.choices[0].message.content);
  });

  it('json_schema output always parses and validates, whatever the weights', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 16 }, age: { type: 'integer' }, tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 3 } },
      required: ['name', 'age', 'tags'],
      additionalProperties: false,
    };
    const completion = await client.chat.completions.create({
      model: QWEN,
      messages,
      max_tokens: 120,
      temperature: 1,
      seed: 5,
      n: 2,
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
    });
    const validate = new Ajv().compile(schema);
    for (const choice of completion.choices) {
      expect(choice.finish_reason).toBe('stop');
      expect(validate(JSON.parse(choice.message.content!))).toBe(true);
    }
  });

  it('enforces a schema given with json_object, the original server\'s documented form; plain json_object still gives an object', async () => {
    const schema = { type: 'object', properties: { colour: { enum: ['red', 'green'] }, count: { type: 'integer' } }, required: ['colour', 'count'], additionalProperties: false };
    const completion = await client.chat.completions.create({
      model: QWEN,
      messages,
      max_tokens: 60,
      temperature: 1,
      seed: 3,
      n: 2,
      response_format: { type: 'json_object', schema } as never,
    });
    const validate = new Ajv().compile(schema);
    for (const choice of completion.choices) {
      expect(choice.finish_reason).toBe('stop');
      expect(validate(JSON.parse(choice.message.content!))).toBe(true);
    }
    // Without a schema, any object: random weights may write one longer than max_tokens, so only its start is certain.
    const plain = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 8, temperature: 0, response_format: { type: 'json_object' } });
    expect(plain.choices[0].message.content!.startsWith('{')).toBe(true);
  });

  it('serves a model named by its absolute folder path', async () => {
    // Outside every folder the server scans: only the path names it.
    const folder = await mkdtemp(join(tmpdir(), 'omni-model-by-path-'));
    try {
      await cp(qwenDir, folder, { recursive: true, dereference: true });
      const byPath = await client.chat.completions.create({ model: folder, messages, max_tokens: 5, temperature: 0 });
      const byId = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 5, temperature: 0 });
      expect(byPath.model).toBe(folder);
      expect(byPath.choices[0].message.content).toBe(byId.choices[0].message.content);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it.each([
    [GPT_OSS, 'gpt_oss'],
    [GLM, 'glm4_moe'],
    [CODER, 'qwen3_moe'],
  ])('serves %s (%s) with tools declared, listed as supported', async (model, family) => {
    const listed = (await stack.request('/v1/models')).body.data;
    expect(listed.find((entry: { id: string }) => entry.id === model)).toMatchObject({ kind: 'chat', family, supported: true });
    const completion = await client.chat.completions.create({ model, messages, max_tokens: 6, temperature: 0, tools: [weatherTool] });
    expectOpenAiSchema('CreateChatCompletionResponse', completion);
    expect(['length', 'stop', 'tool_calls']).toContain(completion.choices[0].finish_reason);
  });

  it("renders tool calls and their results through Qwen3-Coder's own template", async () => {
    const asked: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris for 2 days?' }];
    const called: OpenAI.Chat.ChatCompletionMessageParam[] = [
      ...asked,
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris", "days": 2}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
    ];
    const before = await client.chat.completions.create({ model: CODER, messages: asked, max_tokens: 1, tools: [weatherTool] });
    const after = await client.chat.completions.create({ model: CODER, messages: called, max_tokens: 1, tools: [weatherTool] });
    // The call (<function=get_weather>, two <parameter=...> blocks) and the <tool_response> add well over 30 tokens.
    expect(after.usage!.prompt_tokens).toBeGreaterThan(before.usage!.prompt_tokens + 30);
  });

  it.each([CODER, GLM])('named tool_choice on %s: the call is forced in the model\'s own markup and read back typed by the schema', async (model) => {
    const parameters = { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['city', 'days'] };
    const request = {
      model,
      messages: [{ role: 'user' as const, content: 'Weather in Oslo for 3 days?' }],
      max_tokens: 120,
      tools: [{ type: 'function' as const, function: { name: 'get_weather', parameters } }],
      tool_choice: { type: 'function' as const, function: { name: 'get_weather' } },
      parallel_tool_calls: false,
    };
    const completion = await client.chat.completions.create(request);
    expectOpenAiSchema('CreateChatCompletionResponse', completion);
    const choice = completion.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe('get_weather');
    const args = JSON.parse(call.function.arguments) as { city: unknown; days: unknown };
    expect(typeof args.city).toBe('string');
    // A bare-text value read back by its schema: an integer, within the schema's bounds.
    expect(Number.isInteger(args.days)).toBe(true);
    expect(args.days).toBeGreaterThanOrEqual(1);
    expect(args.days).toBeLessThanOrEqual(9);
  });

  it("round-trips OpenAI-style tool-call ids through Mistral's template, which demands 9-character ids", async () => {
    const conversation: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_8f2b1c0d9e7a4f3b2c1d0e9f', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_8f2b1c0d9e7a4f3b2c1d0e9f', content: '"sunny"' },
    ];
    const completion = await client.chat.completions.create({ model: MISTRAL_TOOLS, messages: conversation, max_tokens: 3, tools: [weatherTool] });
    // Sent as they are, these ids make the template raise (a 400); mapped, the conversation renders.
    expectOpenAiSchema('CreateChatCompletionResponse', completion);
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(40);
  });

  it('passes reasoning_effort to the gpt-oss template (medium is its default), and refuses an unknown effort', async () => {
    const firstStep = async (extra: object) => {
      const completion = await client.chat.completions.create({ model: GPT_OSS, messages, max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: 3, ...extra } as never);
      return (completion as OpenAI.Chat.ChatCompletion).choices[0].logprobs!.content![0].top_logprobs.map((entry) => entry.logprob);
    };
    // The same prompt computed again may take a cached prefix and other product shapes: equal within float32 noise.
    const largestDifference = (a: number[], b: number[]) => Math.max(...a.map((value, i) => Math.abs(value - b[i])));
    const byDefault = await firstStep({});
    expect(largestDifference(await firstStep({ reasoning_effort: 'medium' }), byDefault)).toBeLessThan(1e-4);
    // "Reasoning: high" instead of "Reasoning: medium" in the system message changes what the model sees.
    expect(largestDifference(await firstStep({ reasoning_effort: 'high' }), byDefault)).toBeGreaterThan(1e-3);
    const error = await client.chat.completions.create({ model: GPT_OSS, messages, reasoning_effort: 'extreme' } as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).param).toBe('reasoning_effort');
  });

  it('tool_choice "required" yields a valid call to a declared tool', async () => {
    const parameters = { type: 'object', properties: { city: { type: 'string', maxLength: 20 }, days: { type: 'integer' } }, required: ['city', 'days'], additionalProperties: false };
    const completion = await client.chat.completions.create({
      model: LLAMA,
      messages: [{ role: 'user', content: 'Weather in Oslo for 3 days?' }],
      max_tokens: 120,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    const choice = completion.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe('get_weather');
    expect(call.id).toMatch(/^call_/);
    expect(new Ajv().compile(parameters)(JSON.parse(call.function.arguments))).toBe(true);
  });

  it('puts text after <think> into reasoning_content and reasoning, streamed as reasoning deltas', async () => {
    // Random weights never think on their own; a logit bias makes every token Qwen3's <think> (id 151667).
    const request = { model: QWEN, messages, max_tokens: 4, logit_bias: { '151667': 100 } };
    const completion = await client.chat.completions.create(request);
    const message = completion.choices[0].message as OpenAI.Chat.ChatCompletionMessage & { reasoning_content?: string; reasoning?: string };
    // The first <think> opens the block; the three after it are what the model "thought".
    expect(message.reasoning_content).toBe('<think><think><think>');
    expect(message.reasoning).toBe(message.reasoning_content);
    expect(message.content).toBe('');
    expect(completion.usage!.completion_tokens_details!.reasoning_tokens).toBe(3);

    const stream = await client.chat.completions.create({ ...request, stream: true });
    let reasoning = '';
    let content = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
      reasoning += delta?.reasoning_content ?? '';
      content += delta?.content ?? '';
    }
    expect(reasoning).toBe(message.reasoning_content);
    expect(content).toBe('');
  });

  it('passes chat_template_kwargs to the template (Qwen3 enable_thinking: false adds an empty think block)', async () => {
    const thinking = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 1 });
    const direct = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 1, chat_template_kwargs: { enable_thinking: false } } as never);
    // "<think>\n\n</think>\n\n" is four Qwen3 tokens.
    expect((direct as OpenAI.Chat.ChatCompletion).usage!.prompt_tokens).toBe(thinking.usage!.prompt_tokens + 4);
  });

  it('hands streams to Fastify without taking the reply over: the request is logged, and no "Reply was already sent"', async () => {
    const requestLines = (): number => stack.supervisor.output().split('"route":"/v1/chat/completions"').length - 1;
    const before = requestLines();
    for await (const chunk of await client.chat.completions.create({ model: QWEN, messages, max_tokens: 2, stream: true })) {
      void chunk;
    }
    // Fastify's onResponse hook writes one line per finished request, streamed ones included.
    await waitFor('the request line of the stream', async () => requestLines() > before, 5_000);
    expect(stack.supervisor.output()).not.toContain('Reply was already sent');
  });

  it('reuses the prompt cache: a repeated prompt and a conversation one turn longer prefill only what is new, and report cached_tokens', async () => {
    // A nonce keeps this prefix out of whatever earlier tests cached.
    const system = `Session ${Date.now()}. ${'You answer questions about colours, shapes and numbers, briefly. '.repeat(12)}`;
    const first: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'system', content: system },
      { role: 'user', content: 'Name a colour.' },
    ];
    const cold = await client.chat.completions.create({ model: QWEN, messages: first, max_tokens: 6, temperature: 0 });
    // At most the chat template's opening tokens, which every earlier request of this key shared.
    expect(cold.usage!.prompt_tokens_details?.cached_tokens).toBeLessThan(8);
    const repeated = await client.chat.completions.create({ model: QWEN, messages: first, max_tokens: 6, temperature: 0 });
    // All but the last prompt token, which must be fed to produce the first new one.
    expect(repeated.usage!.prompt_tokens_details?.cached_tokens).toBe(cold.usage!.prompt_tokens - 1);
    expect(repeated.choices[0].message.content).toBe(cold.choices[0].message.content);

    const longer: OpenAI.Chat.ChatCompletionMessageParam[] = [...first, { role: 'assistant', content: cold.choices[0].message.content }, { role: 'user', content: 'And a shape?' }];
    const stream = await client.chat.completions.create({ model: QWEN, messages: longer, max_tokens: 4, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      usage = chunk.usage ?? usage;
    }
    expect(usage!.prompt_tokens).toBeGreaterThan(cold.usage!.prompt_tokens);
    // The system prompt and the first question at least; the answer's own tokens too when the template renders them back the same.
    expect(usage!.prompt_tokens_details?.cached_tokens).toBeGreaterThanOrEqual(cold.usage!.prompt_tokens - 8);

    // The last heartbeat may predate the stream's end: wait for one that shows the batch idle.
    let model: { batch: Record<string, number> } | undefined;
    await waitFor('a heartbeat showing the batch idle', async () => {
      model = (await stack.request('/v1/workers')).body.data[0].loaded_models.find((loaded: { id: string }) => loaded.id === QWEN);
      return model?.batch.running === 0;
    }, 10_000);
    expect(model!.batch).toMatchObject({ running: 0, waiting: 0, running_rows: 0, max_rows: 16 });
    expect(model!.batch.prompt_cache_bytes).toBeGreaterThan(0);
    expect(model!.batch.prompt_cache_hit_tokens).toBeGreaterThanOrEqual(repeated.usage!.prompt_tokens_details!.cached_tokens!);
  });

  it('decodes concurrent requests as one batch, each with the greedy answer it gets alone', async () => {
    const questions = ['Name a fruit.', 'Name a tree.', 'Name a bird.', 'Name a river.'].map((question): OpenAI.Chat.ChatCompletionMessageParam[] => [{ role: 'user', content: question }]);
    const alone: string[] = [];
    for (const question of questions) {
      alone.push((await client.chat.completions.create({ model: QWEN, messages: question, max_tokens: 24, temperature: 0 })).choices[0].message.content!);
    }
    // Read after a heartbeat taken once the requests before were done, so their steps are in the first reading.
    const batchSteps = async (): Promise<{ count: number; single: number }> => {
      const settled = Math.ceil(Date.now() / 1000);
      await waitFor('a worker heartbeat after the requests', async () => (await stack.request('/v1/workers')).body.data[0].last_seen_at > settled, 10_000);
      const lines = (await stack.request('/metrics')).text.split('\n').filter((line) => line.includes(`model="${QWEN}"`));
      const read = (series: string, label = '') => Number(lines.find((line) => line.startsWith(`${series}{`) && line.includes(label))?.split(' ').pop() ?? 0);
      return { count: read('mlx_omni_batch_size_count'), single: read('mlx_omni_batch_size_bucket', 'le="1"') };
    };
    const before = await batchSteps();
    const together = await Promise.all(questions.map(async (question) => (await client.chat.completions.create({ model: QWEN, messages: question, max_tokens: 24, temperature: 0 })).choices[0].message.content!));
    expect(together).toEqual(alone);
    const after = await batchSteps();
    // Some steps decoded more than one row.
    expect(after.count - before.count).toBeGreaterThan(after.single - before.single);
  });

  it('stops generating within a step when the client disconnects mid-stream', async () => {
    const stream = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 5000, temperature: 1, stream: true });
    let received = 0;
    // Leaving the loop makes the SDK abort its HTTP request: the socket closes under the server.
    for await (const chunk of stream) {
      received += chunk.choices.length;
      if (received === 3) {
        break;
      }
    }
    expect(received).toBe(3);
    const leftAt = Math.ceil(Date.now() / 1000);
    // 5000 tokens take minutes here; a heartbeat taken after the disconnect must already show the worker idle.
    await waitFor(
      'a worker heartbeat after the disconnect showing no active request',
      async () => {
        const worker = (await stack.request('/v1/workers')).body.data[0];
        return worker.last_seen_at > leftAt && worker.active_requests === 0 && worker.in_flight === 0;
      },
      6_000,
    );
  });

  describe('errors', () => {
    it('404 model_not_found for a model that is not in the cache', async () => {
      const error = await client.chat.completions.create({ model: 'nobody/nothing', messages }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    });

    it('lists an architecture the engine does not run as unsupported, and answers 400 model_not_supported naming the supported ones', async () => {
      const listed = (await stack.request('/v1/models')).body.data;
      expect(listed.find((entry: { id: string }) => entry.id === STARCODER)).toMatchObject({ kind: 'chat', family: 'starcoder2', supported: false });
      expect(listed.find((entry: { id: string }) => entry.id === QWEN)).toMatchObject({ kind: 'chat', family: 'qwen3', supported: true });
      for (const call of [
        () => client.chat.completions.create({ model: STARCODER, messages, max_tokens: 2 }),
        () => client.completions.create({ model: STARCODER, prompt: 'def', max_tokens: 2 }),
        () => client.post(`/models/${STARCODER}/load`),
      ]) {
        const error = await call().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(BadRequestError);
        expect(error).toMatchObject({ status: 400, code: 'model_not_supported', param: 'model' });
        expect((error as BadRequestError).message).toMatch(/starcoder2 family.*supported chat families: llama, mistral, qwen2, qwen3/);
      }
    });

    it('400 model_not_supported for a model of another kind', async () => {
      const error = await client.chat.completions.create({ model: EMBEDDER, messages }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error).toMatchObject({ status: 400, code: 'model_not_supported', param: 'model' });
      expect((error as BadRequestError).message).toContain('is of kind embedding and cannot serve chat requests');
    });

    it('400 context_length_exceeded for a prompt longer than the context', async () => {
      const long = 'colour '.repeat(42_000);
      const error = await client.chat.completions.create({ model: QWEN, messages: [{ role: 'user', content: long }] }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages' });
    });

    it('400 naming the param for invalid values and unsupported content', async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ temperature: 3 }, 'temperature'],
        [{ messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
        [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/y.png' } }] }] }, 'messages[0].content'],
        [{ top_logprobs: 2 }, 'top_logprobs'],
        [{ tool_choice: 'required' }, 'tool_choice'],
      ];
      for (const [fields, param] of cases) {
        const body = { model: QWEN, messages, max_tokens: 2, ...fields };
        const error = await client.chat.completions.create(body as never).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(BadRequestError);
        expect((error as BadRequestError).param).toBe(param);
      }
    });
  });
});
