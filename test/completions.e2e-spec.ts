import OpenAI, { BadRequestError } from 'openai';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { expectOpenAiCompletionChunk, expectOpenAiSchema, itMatchesOpenAiContract } from '@mlx-omni/openai-dto/testing';
import { startStack, type RunningStack } from './support/stack';

const LLAMA = 'mlx-omni-test/tiny-llama-fp32';

describe('legacy completions through the official OpenAI client', () => {
  let stack: RunningStack;
  let client: OpenAI;

  beforeAll(async () => {
    const hub = testHubDir();
    await ensureFixtures(hub, [LLAMA]);
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: hub } });
    await stack.waitUntilReady();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('completes a text prompt, defaulting to 16 tokens', async () => {
    const completion = await client.completions.create({ model: LLAMA, prompt: 'Once upon a time', temperature: 0 });
    expect(completion.object).toBe('text_completion');
    expect(completion.choices[0].finish_reason).toBe('length');
    expect(completion.usage!.completion_tokens).toBe(16);
  });

  it('takes token ids, several prompts and n, numbering choices prompt by prompt', async () => {
    const text = await client.completions.create({ model: LLAMA, prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });
    const completion = await client.completions.create({ model: LLAMA, prompt: ['Once upon a time', 'Hello'], n: 2, max_tokens: 5, temperature: 0 });
    expect(completion.choices.map((choice) => choice.index)).toEqual([0, 1, 2, 3]);
    expect(completion.choices[0].text).toBe(text.choices[0].text);
    expect(completion.choices[1].text).toBe(text.choices[0].text);
    // The same prompt as ids: BOS plus the text's tokens, as the tokenizer would have produced.
    const ids = await client.completions.create({ model: LLAMA, prompt: [128000, 12805, 5304, 264, 892], max_tokens: 5, temperature: 0 });
    expect(ids.usage!.prompt_tokens).toBe(text.usage!.prompt_tokens);
    expect(ids.choices[0].text).toBe(text.choices[0].text);
  });

  it('reports legacy logprobs with offsets into the returned text, and echoes the prompt', async () => {
    const completion = await client.completions.create({ model: LLAMA, prompt: 'Hello', max_tokens: 4, temperature: 0, logprobs: 2 });
    const { tokens, token_logprobs, top_logprobs, text_offset } = completion.choices[0].logprobs!;
    expect(tokens).toHaveLength(4);
    expect(tokens!.join('')).toBe(completion.choices[0].text);
    expect(token_logprobs!.every((logprob) => logprob <= 0)).toBe(true);
    expect(top_logprobs!.every((alternatives) => Object.keys(alternatives).length === 2)).toBe(true);
    expect(text_offset![0]).toBe(0);
    const echoed = await client.completions.create({ model: LLAMA, prompt: 'Hello', max_tokens: 4, temperature: 0, echo: true });
    expect(echoed.choices[0].text).toBe(`Hello${completion.choices[0].text}`);
  });

  it('echo with logprobs scores the prompt: null for the first token, then what the model gives each next token', async () => {
    const prompt = [128000, 12805, 5304, 264, 892];
    const echoed = await client.completions.create({ model: LLAMA, prompt, max_tokens: 2, temperature: 0, echo: true, logprobs: 3 });
    // Not checked against the schema copy: it says numbers, but OpenAI's API (and this server) send null for the first prompt token.
    const { tokens, token_logprobs, top_logprobs, text_offset } = echoed.choices[0].logprobs!;
    expect(tokens).toHaveLength(prompt.length + 2);
    expect(tokens!.join('')).toBe(echoed.choices[0].text);
    expect(token_logprobs![0]).toBeNull();
    expect(top_logprobs![0]).toBeNull();
    expect(token_logprobs!.slice(1).every((logprob) => logprob <= 0)).toBe(true);
    expect(text_offset).toEqual([...text_offset!].sort((a, b) => a - b));
    // Position k of the prompt is scored as a generation from the first k tokens would score its first step.
    for (const k of [1, 3]) {
      const next = await client.completions.create({ model: LLAMA, prompt: prompt.slice(0, k), max_tokens: 1, temperature: 0, logprobs: 3 });
      const expected = next.choices[0].logprobs!.top_logprobs![0];
      const actual = top_logprobs![k]!;
      expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
      for (const [token, logprob] of Object.entries(expected)) {
        expect(actual[token]).toBeCloseTo(logprob, 4);
      }
      if (tokens![k] in expected) {
        expect(token_logprobs![k]).toBeCloseTo(expected[tokens![k]], 4);
      }
    }
  });

  itMatchesOpenAiContract('answers with objects that match OpenAI’s schemas: a completion, and each chunk of a stream', async () => {
    expectOpenAiSchema('CreateCompletionResponse', await client.completions.create({ model: LLAMA, prompt: 'Once upon a time', max_tokens: 4, temperature: 0 }));
    const stream = await client.completions.create({ model: LLAMA, prompt: 'Hello', max_tokens: 4, logprobs: 1, stream: true });
    let chunks = 0;
    for await (const chunk of stream) {
      // OpenAI's description allows no null finish_reason, which the real API sends in every chunk
      // but the last: the check runs against a copy of the schema adjusted for that (expectOpenAiCompletionChunk).
      expectOpenAiCompletionChunk(chunk);
      chunks += 1;
    }
    expect(chunks).toBeGreaterThan(1);
  });

  it('streams text_completion chunks that add up to the whole answer', async () => {
    const whole = await client.completions.create({ model: LLAMA, prompt: 'Hello', max_tokens: 6, temperature: 0 });
    const stream = await client.completions.create({ model: LLAMA, prompt: 'Hello', max_tokens: 6, temperature: 0, stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('text_completion');
      text += chunk.choices[0].text;
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    expect(text).toBe(whole.choices[0].text);
    expect(finish).toBe('length');
  });

  it.each([
    [{ suffix: 'end' }, 'suffix'],
    [{ best_of: 3 }, 'best_of'],
    [{ prompt: [[1, 2], 'mixed', -4] }, 'prompt'],
    [{ prompt: [999_999_999] }, 'prompt'],
  ])('400 for %p naming %s', async (fields, param) => {
    const error = await client.completions.create({ model: LLAMA, prompt: 'Hi', max_tokens: 2, ...fields } as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).param).toBe(param);
  });
});
