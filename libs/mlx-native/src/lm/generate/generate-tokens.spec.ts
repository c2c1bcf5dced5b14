import { core as mx } from '@frost-beta/mlx';
import { ContextLengthExceededError, InvalidGenerationOptionsError } from './errors';
import type { GeneratedToken, GenerationFinished, TokenGenerationEvent } from './events';
import { generateTokens, type TokenGenerationOptions } from './generate-tokens';
import { fixedLogitsModel, scriptedModel, type ToyModel } from '../__fixtures__/toy-models';

async function collect(
  model: ToyModel,
  prompt: number[],
  options: TokenGenerationOptions,
  signal?: AbortSignal,
): Promise<{ tokens: GeneratedToken[]; done: GenerationFinished }> {
  const events: TokenGenerationEvent[] = [];
  for await (const event of generateTokens(model, prompt, options, signal)) {
    events.push(event);
  }
  const done = events.pop();
  if (done?.type !== 'done' || events.some((event) => event.type !== 'token')) {
    throw new Error('expected token events and one final done event');
  }
  return { tokens: events as GeneratedToken[], done };
}

const ids = (tokens: GeneratedToken[]): number[] => tokens.map((token) => token.tokenId);

describe('generateTokens', () => {
  test('greedy decoding follows the model and stops at max tokens with reason length', async () => {
    const { tokens, done } = await collect(scriptedModel(10, 3, [4, 5, 6, 7]), [1, 2, 3], { temperature: 0, maxTokens: 3 });
    expect(ids(tokens)).toEqual([4, 5, 6]);
    expect(done).toMatchObject({ finishReason: 'length', promptTokens: 3, completionTokens: 3 });
    expect(done.timings.promptMs).toBeGreaterThan(0);
  });

  test('any id of the EOS list stops with reason stop, and the EOS token is not reported', async () => {
    const { tokens, done } = await collect(scriptedModel(10, 1, [4, 5, 9, 6]), [1], { temperature: 0, eosTokenIds: [8, 9] });
    expect(ids(tokens)).toEqual([4, 5]);
    expect(done).toMatchObject({ finishReason: 'stop', completionTokens: 2 });
  });

  test('without maxTokens the context window is the limit', async () => {
    const { tokens, done } = await collect(scriptedModel(10, 2, [3], 40), [1, 2], { temperature: 0 });
    expect(tokens).toHaveLength(38);
    expect(done.finishReason).toBe('length');
  });

  test('a prompt plus maxTokens beyond the context window is a ContextLengthExceededError', async () => {
    const model = fixedLogitsModel([0, 0], 8);
    await expect(collect(model, [1, 1, 1, 1, 1], { maxTokens: 4 })).rejects.toThrow(ContextLengthExceededError);
    await expect(collect(model, new Array<number>(8).fill(1), {})).rejects.toThrow(/maximum context length is 8 tokens/);
    await expect(collect(model, [1, 1, 1, 1], { maxTokens: 4 })).resolves.toBeDefined();
  });

  test('invalid options are refused before any work', async () => {
    const model = fixedLogitsModel([0, 0]);
    await expect(collect(model, [], {})).rejects.toThrow(InvalidGenerationOptionsError);
    await expect(collect(model, [1], { topLogprobs: 3 })).rejects.toThrow(/topLogprobs/);
    await expect(collect(model, [1], { maxTokens: -1 })).rejects.toThrow(/maxTokens/);
    expect(model.forwardLengths).toEqual([]);
  });

  test('long prompts are prefilled in chunks', async () => {
    const model = scriptedModel(10, 1200, [4]);
    await collect(model, new Array<number>(1200).fill(1), { temperature: 0, maxTokens: 2, prefillChunkSize: 512 });
    // The last prompt token goes in with the first decode step, one token like every other.
    expect(model.forwardLengths).toEqual([512, 512, 175, 1, 1]);
  });

  test('logprobs are a normalised log-softmax with the alternatives most likely first', async () => {
    const logits = [1, 3, 0.5, 2, -1];
    const { tokens } = await collect(fixedLogitsModel(logits), [0], { temperature: 0, maxTokens: 2, topLogprobs: 5 });
    const [first] = tokens;
    const top = first.topLogprobs ?? [];
    expect(top.map((entry) => entry.tokenId)).toEqual([1, 3, 0, 2, 4]);
    expect(top.reduce((sum, entry) => sum + Math.exp(entry.logprob), 0)).toBeCloseTo(1, 5);
    expect(first.logprob).toBeCloseTo(top[0].logprob, 6);
    const logZ = Math.log(logits.reduce((sum, l) => sum + Math.exp(l), 0));
    expect(first.logprob).toBeCloseTo(3 - logZ, 5);
  });

  test('logprobs reflect penalties and processors but not temperature or truncation', async () => {
    const logits = [0, 0, 0, 0];
    const base = { maxTokens: 1, topLogprobs: 4, seed: 1 };
    const masked = await collect(fixedLogitsModel(logits), [0], {
      ...base,
      logitBias: { 2: Math.log(2) },
      logitsProcessors: [(_, l) => mx.where(mx.equal(mx.arange(4), 3), -Infinity, l)],
    });
    const byId = new Map((masked.tokens[0].topLogprobs ?? []).map((entry) => [entry.tokenId, entry.logprob]));
    expect(byId.get(2)).toBeCloseTo(Math.log(0.5), 5);
    expect(byId.get(0)).toBeCloseTo(Math.log(0.25), 5);
    expect(byId.get(3)).toBe(-Infinity);

    const cold = await collect(fixedLogitsModel(logits), [0], { ...base, temperature: 0.1, topK: 1 });
    expect(cold.tokens[0].logprob).toBeCloseTo(Math.log(0.25), 5);
  });

  test('a logits processor sees the completion so far and its mask holds', async () => {
    const seen: number[][] = [];
    const forbidOne = (generated: readonly number[], logits: mx.array): mx.array => {
      seen.push([...generated]);
      return mx.where(mx.equal(mx.arange(3), 1), -Infinity, logits);
    };
    const { tokens } = await collect(fixedLogitsModel([0, 5, 0]), [2, 2], { seed: 3, maxTokens: 20, logitsProcessors: [forbidOne] });
    expect(ids(tokens)).not.toContain(1);
    expect(seen.slice(0, 3)).toEqual([[], ids(tokens).slice(0, 1), ids(tokens).slice(0, 2)]);
  });

  test('a seed reproduces a sampled generation; another seed changes it', async () => {
    const model = (): ToyModel => fixedLogitsModel([0, 0.2, 0.4, 0.1, 0.3, 0, 0.5, 0.1]);
    const run = async (seed: number): Promise<number[]> => ids((await collect(model(), [1], { seed, maxTokens: 32, topP: 0.95 })).tokens);
    expect(await run(11)).toEqual(await run(11));
    expect(await run(12)).not.toEqual(await run(11));
  });

  test('ids at or above sampleVocabSize are never sampled', async () => {
    const { tokens } = await collect(fixedLogitsModel([0, 0, 10, 10]), [0], { temperature: 0, maxTokens: 3, sampleVocabSize: 2 });
    expect(ids(tokens).every((id) => id < 2)).toBe(true);
  });

  test('abort stops within one step and reports reason abort', async () => {
    const controller = new AbortController();
    const events: TokenGenerationEvent[] = [];
    for await (const event of generateTokens(fixedLogitsModel([0, 1]), [0], { temperature: 0, maxTokens: 100 }, controller.signal)) {
      events.push(event);
      if (events.length === 3) {
        controller.abort();
      }
    }
    expect(events).toHaveLength(4);
    expect(events[3]).toMatchObject({ type: 'done', finishReason: 'abort', completionTokens: 3 });
  });

  test('an abort during prefill stops before decoding', async () => {
    const controller = new AbortController();
    const model = scriptedModel(4, 2000, [1]);
    // Two turns of the event loop: the first prefill chunk runs in between.
    setImmediate(() => setImmediate(() => controller.abort()));
    const { tokens, done } = await collect(model, new Array<number>(2000).fill(0), { prefillChunkSize: 100 }, controller.signal);
    expect(tokens).toEqual([]);
    expect(done.finishReason).toBe('abort');
    expect(model.forwardLengths).toEqual([100]);
  });

  test('the event loop turns between steps', async () => {
    let turns = 0;
    let running = true;
    const spin = (): void => {
      turns++;
      if (running) {
        setImmediate(spin);
      }
    };
    setImmediate(spin);
    await collect(fixedLogitsModel([0, 1]), [0], { temperature: 0, maxTokens: 20 });
    running = false;
    expect(turns).toBeGreaterThanOrEqual(20);
  });
});
