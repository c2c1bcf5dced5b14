import Ajv from 'ajv';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { expectOpenAiSchema } from '@mlx-omni/openai-dto/testing';
import { waitFor } from './support/processes';
import { startStack, type RunningStack } from './support/stack';

const QWEN = 'mlx-omni-test/tiny-qwen3-fp32';
const LLAMA = 'mlx-omni-test/tiny-llama-4bit';
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

  beforeAll(async () => {
    const hub = testHubDir();
    const dirs = await ensureFixtures(hub, [QWEN, LLAMA]);
    localModels = await writeLocalModels(dirs.get(QWEN)!);
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: hub, MLX_OMNI_MODEL_DIRS: localModels } });
    await stack.waitUntilReady();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(localModels, { recursive: true, force: true });
  });

  it('answers a plain request with a schema-valid chat.completion and honest usage', async () => {
    const completion = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 6, temperature: 0 });
    expectOpenAiSchema('CreateChatCompletionResponse', completion);
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe(QWEN);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0].finish_reason).toBe('length');
    expect(completion.usage).toMatchObject({ completion_tokens: 6 });
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(10);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + 6);
  });

  it('streams schema-valid chunks that add up to the same greedy answer, then usage and [DONE]', async () => {
    const whole = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 8, temperature: 0 });
    const stream = await client.chat.completions.create({ model: QWEN, messages, max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      expectOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
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
    expectOpenAiSchema('CreateChatCompletionResponse', completion);
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
