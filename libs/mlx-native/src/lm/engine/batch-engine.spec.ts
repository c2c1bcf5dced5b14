import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { core as mx } from '@frost-beta/mlx';
import { ensureFixtures, FIXTURE_SPECS, testHubDir } from '@mlx-omni/model-fixtures';
import { PromptCache } from '../cache/prompt-cache';
import type { TokenGenerationEvent } from '../generate/events';
import { scriptedModel, ToyModel } from '../__fixtures__/toy-models';
import type { LanguageModel } from '../language-model';
import { loadLanguageModel } from '../load-language-model';
import { BatchEngine, type SequenceRequest } from './batch-engine';
import type { SequenceOptions } from './sequence';

jest.setTimeout(300_000);

/** Logprobs of one sequence alone and in a batch differ only by the order of float32 sums. */
const LOGPROB_TOLERANCE = 1e-4;
const STEPS = 8;

/** One fixture per architecture: batching must hold for every attention and MLP variant (sliding windows, sinks, MoE). */
const ARCHITECTURES = [...new Map(FIXTURE_SPECS.map((spec) => [String(spec.config['model_type']), spec.id])).entries()];

let dirs: Map<string, string>;

beforeAll(async () => {
  dirs = await ensureFixtures(testHubDir(), ARCHITECTURES.map(([, id]) => id));
});

afterEach(async () => {
  // Native arrays are freed by finalizers, which run only when the event loop turns.
  await new Promise(setImmediate);
});

/** A prompt of in-vocabulary ids that differs per length and seed. */
function promptTokens(length: number, vocab: number, seed = 0): number[] {
  return Array.from({ length }, (_, i) => (7919 * (i + 3 + seed) + 104729 * i * i + seed * 31) % vocab);
}

interface Outcome {
  tokens: number[];
  logprobs: number[];
  top: number[][];
  finishReason: string;
  cachedTokens: number;
}

async function collect(stream: AsyncIterable<TokenGenerationEvent>, onToken?: (count: number) => void): Promise<Outcome> {
  const outcome: Outcome = { tokens: [], logprobs: [], top: [], finishReason: '', cachedTokens: 0 };
  for await (const event of stream) {
    if (event.type === 'token') {
      outcome.tokens.push(event.tokenId);
      outcome.logprobs.push(event.logprob as number);
      outcome.top.push((event.topLogprobs ?? []).map((alternative) => alternative.tokenId));
      onToken?.(outcome.tokens.length);
    } else {
      outcome.finishReason = event.finishReason;
      outcome.cachedTokens = event.cachedTokens ?? 0;
    }
  }
  return outcome;
}

const greedy = (options: SequenceOptions = {}): SequenceOptions => ({ temperature: 0, maxTokens: STEPS, logprobs: true, topLogprobs: 3, ...options });

function request(promptIds: number[], options: SequenceOptions = greedy(), extra: Partial<SequenceRequest> = {}): SequenceRequest {
  return { promptIds, forks: [options], caller: 'key-a', ...extra };
}

async function alone(model: LanguageModel, req: SequenceRequest): Promise<Outcome> {
  return collect(new BatchEngine(model).submit(req).streams[0]);
}

/**
 * Greedy decoding of one prompt by plain forward passes over the model's own per-sequence cache, with
 * no engine: the reference that a batch (shared row caches, one attention call for all rows) must match.
 */
function plainGreedy(model: LanguageModel, promptIds: number[]): Outcome {
  const cache = model.createCache();
  const outcome: Outcome = { tokens: [], logprobs: [], top: [], finishReason: 'length', cachedTokens: 0 };
  let input = promptIds;
  for (let step = 0; step < STEPS; step++) {
    const logits = model.forward(mx.array([input], mx.int32), cache, { lastTokenOnly: true }).index(0, 0, mx.Slice(0, model.vocabSize));
    const logprobs = mx.subtract(logits, mx.logsumexp(logits, -1, true)).tolist() as number[];
    // The three most likely ids, highest first (a pass over the vocabulary; sorting it is slow for 150k).
    const top: number[] = [];
    logprobs.forEach((logprob, id) => {
      const at = top.findIndex((other) => logprob > logprobs[other]);
      if (at >= 0 || top.length < 3) {
        top.splice(at >= 0 ? at : top.length, 0, id);
        top.length = Math.min(top.length, 3);
      }
    });
    outcome.tokens.push(top[0]);
    outcome.logprobs.push(logprobs[top[0]]);
    outcome.top.push(top);
    input = [top[0]];
  }
  return outcome;
}

function expectSameSequence(actual: Outcome, expected: Outcome, label: string): void {
  expect(actual.tokens).toEqual(expected.tokens);
  expect(actual.top).toEqual(expected.top);
  const diff = Math.max(0, ...actual.logprobs.map((logprob, i) => Math.abs(logprob - expected.logprobs[i])));
  console.log(`${label}: ${actual.tokens.length} tokens identical, logprob max abs diff ${diff}`);
  expect(diff).toBeLessThan(LOGPROB_TOLERANCE);
}

describe.each(ARCHITECTURES)('batched decoding: %s', (modelType, id) => {
  let model: LanguageModel;

  beforeAll(async () => {
    model = (await loadLanguageModel(dirs.get(id) as string)).model;
  });

  it('gives every sequence of a batch of different lengths the tokens and logprobs of plain forward passes', async () => {
    // 3 to 20 tokens: the longer ones pass the 4-token sliding window of the Gemma fixtures.
    const prompts = [5, 20, 3, 11].map((length, i) => promptTokens(length, model.vocabSize, i));
    const expected: Outcome[] = [];
    for (const prompt of prompts) {
      expected.push(plainGreedy(model, prompt));
    }
    expect(new Set(expected.map((outcome) => outcome.tokens.join())).size).toBeGreaterThan(1);
    const engine = new BatchEngine(model);
    const batched = await Promise.all(prompts.map((prompt) => collect(engine.submit(request(prompt)).streams[0])));
    // Submitted together, the four prompts prefill as one chunk, the shorter ones padded on the left.
    expect(engine.prefillsByBatchSize).toEqual([undefined, undefined, undefined, undefined, 1]);
    expect(engine.stepsByBatchSize[prompts.length]).toBeGreaterThan(0);
    batched.forEach((outcome, i) => expectSameSequence(outcome, expected[i], `${modelType} row ${i}`));
  });

  it('gives a sequence that joins mid-flight, and the ones beside a cancelled row, their own tokens', async () => {
    const first = promptTokens(9, model.vocabSize, 7);
    const late = promptTokens(6, model.vocabSize, 8);
    const cancelled = promptTokens(7, model.vocabSize, 9);
    const expectedFirst = plainGreedy(model, first);
    const expectedLate = plainGreedy(model, late);
    const engine = new BatchEngine(model);
    const abort = new AbortController();
    let lateRun: Promise<Outcome> | undefined;
    const cancelledRun = collect(engine.submit(request(cancelled, greedy(), { signal: abort.signal })).streams[0], (count) => count === 2 && abort.abort());
    const firstRun = collect(engine.submit(request(first)).streams[0], (count) => {
      if (count === 3) {
        lateRun = collect(engine.submit(request(late)).streams[0]);
      }
    });
    expectSameSequence(await firstRun, expectedFirst, `${modelType} running`);
    expectSameSequence(await (lateRun as Promise<Outcome>), expectedLate, `${modelType} joined mid-flight`);
    const aborted = await cancelledRun;
    expect(aborted.finishReason).toBe('abort');
    expect(aborted.tokens.length).toBeLessThan(STEPS);
  });

  it('continues a cached prefix to the same tokens as an uncached run, computing only the new tokens', async () => {
    const engine = new BatchEngine(model, { promptCache: new PromptCache(2 ** 30) });
    const first = promptTokens(12, model.vocabSize, 3);
    const answer = await collect(engine.submit(request(first)).streams[0]);
    // A conversation one turn longer: the prompt, the answer, and new tokens.
    const next = [...first, ...answer.tokens, ...promptTokens(5, model.vocabSize, 4)];
    const cached = await collect(engine.submit(request(next)).streams[0]);
    const uncached = plainGreedy(model, next);
    expect(cached.cachedTokens).toBeGreaterThanOrEqual(first.length + answer.tokens.length - 1);
    expectSameSequence(cached, uncached, `${modelType} cached prefix of ${cached.cachedTokens}`);
    // Another caller's identical prompt is not served from the first caller's entry.
    const otherCaller = await collect(engine.submit(request(next, greedy(), { caller: 'key-b' })).streams[0]);
    expect(otherCaller.cachedTokens).toBe(0);
    // Released (the worker's model pool asks for it before unloading a model), the cache serves nothing until refilled.
    expect(engine.releasePromptCache()).toBeGreaterThan(0);
    expect(engine.stats.promptCacheBytes).toBe(0);
    expect((await collect(engine.submit(request(next)).streams[0])).cachedTokens).toBe(0);
  });
});

describe('BatchEngine with a scripted model', () => {
  const VOCAB = 50;

  it('prefills once for n forks and samples each with its own seed', async () => {
    const model = scriptedModel(VOCAB, 4, [7, 8, 9]);
    const engine = new BatchEngine(model);
    const sampled = (seed: number): SequenceOptions => ({ temperature: 1, seed, maxTokens: 6 });
    const { streams } = engine.submit({ promptIds: [1, 2, 3, 4], forks: [sampled(1), sampled(2), sampled(1)], caller: 'a' });
    const outcomes = await Promise.all(streams.map((stream) => collect(stream)));
    // Prefill is the prompt minus its last token, once; then one decode step per token for all three rows.
    expect(model.forwardLengths[0]).toBe(3);
    expect(model.forwardLengths.slice(1).every((length) => length === 1)).toBe(true);
    expect(outcomes[0].tokens).toEqual(outcomes[2].tokens);
    const single = await alone(model, { promptIds: [1, 2, 3, 4], forks: [sampled(1)], caller: 'a' });
    expect(outcomes[0].tokens).toEqual(single.tokens);
  });

  it('admits the least served caller first when rows are scarce, and reports who waits', async () => {
    const engine = new BatchEngine(scriptedModel(VOCAB, 2, [5]), { maxRows: 1 });
    const order: string[] = [];
    const run = (caller: string, label: string) =>
      collect(engine.submit({ promptIds: [1, 2], forks: [{ temperature: 0, maxTokens: 3 }], caller }).streams[0]).then(() => order.push(label));
    const runs = [run('a', 'a1'), run('a', 'a2'), run('a', 'a3'), run('b', 'b1')];
    // Requests submitted in one turn of the event loop wait together for the next step.
    expect(engine.stats.waiting).toBe(4);
    await new Promise(setImmediate);
    expect(engine.stats).toMatchObject({ running: 1, waiting: 3 });
    await Promise.all(runs);
    expect(order).toEqual(['a1', 'b1', 'a2', 'a3']);
    expect(engine.stats).toMatchObject({ running: 0, waiting: 0, rows: 0 });
  });

  it('gives a scarce row to the caller with none in the batch before a caller with one', async () => {
    const engine = new BatchEngine(scriptedModel(VOCAB, 2, [5]), { maxRows: 2 });
    const order: string[] = [];
    const run = (caller: string, label: string) =>
      collect(engine.submit({ promptIds: [1, 2], forks: [{ temperature: 0, maxTokens: 3 }], caller }).streams[0]).then(() => order.push(label));
    await Promise.all([run('a', 'a1'), run('a', 'a2'), run('a', 'a3'), run('b', 'b1')]);
    // a1 and b1 decode together; a2 and a3 only then.
    expect(order.slice(0, 2).sort()).toEqual(['a1', 'b1']);
  });

  it('prefills prompts that arrive together in one chunk padded to the longest, within the chunk size', async () => {
    // The token after position p is p mod VOCAB: a row whose padding took positions would be off.
    const ids = mx.arange(VOCAB, mx.int32);
    const model = new ToyModel(VOCAB, (position) => mx.where(mx.equal(ids, position % VOCAB), 0, -30));
    const engine = new BatchEngine(model, { prefillChunkSize: 12 });
    const lengths = [5, 4, 9, 3];
    const outcomes = await Promise.all(
      lengths.map((length) => collect(engine.submit({ promptIds: Array<number>(length).fill(1), forks: [{ temperature: 0, maxTokens: 3 }], caller: 'a' }).streams[0])),
    );
    outcomes.forEach((outcome, i) => expect(outcome.tokens).toEqual([lengths[i] - 1, lengths[i], lengths[i] + 1]));
    // 4 and 3 tokens fit as 2 rows of 4; with the 8 tokens of the third, 3 rows of 8 would not.
    const prefills = model.forwardLengths.map((length, i) => [model.forwardRows[i], length]).filter(([, length]) => length > 1);
    expect(prefills).toEqual([
      [2, 4],
      [1, 8],
      [1, 2],
    ]);
  });

  it('feeds at most one prefill chunk between two decode steps of the running rows', async () => {
    const model = scriptedModel(VOCAB, 2, [5]);
    const engine = new BatchEngine(model, { prefillChunkSize: 4 });
    const running = collect(engine.submit({ promptIds: [1, 2], forks: [{ temperature: 0, maxTokens: 12 }], caller: 'a' }).streams[0], (count) => {
      if (count === 2) {
        void collect(engine.submit({ promptIds: Array<number>(17).fill(3), forks: [{ temperature: 0, maxTokens: 2 }], caller: 'b' }).streams[0]);
      }
    });
    await running;
    // The newcomer's 16 prefill tokens arrive as four chunks of 4, each followed by a decode step (length 1).
    const chunks = model.forwardLengths.map((length, i) => [length, i] as const).filter(([length]) => length > 1);
    expect(chunks.map(([length]) => length)).toEqual([4, 4, 4, 4]);
    chunks.slice(1).forEach(([, at], i) => expect(at - chunks[i][1]).toBeGreaterThan(1));
  });

  it('keeps resident memory flat while sequences join and leave for a long time', async () => {
    const dir = (await ensureFixtures(testHubDir(), ['mlx-omni-test/tiny-llama-fp32'])).get('mlx-omni-test/tiny-llama-fp32') as string;
    const model = (await loadLanguageModel(dir)).model;
    const engine = new BatchEngine(model, { promptCache: new PromptCache(8 * 2 ** 20) });
    const round = async (r: number) => {
      const runs = Array.from({ length: 6 }, (_, i) => collect(engine.submit(request(promptTokens(4 + ((r + i) % 9), model.vocabSize, r * 6 + i), greedy({ maxTokens: 4 + (i % 5) }), { caller: `key-${i % 3}` })).streams[0]));
      await Promise.all(runs);
    };
    // Native arrays are freed by finalizers, so a collection per round (as the workers' --expose-gc
    // allows) is what separates a leak from garbage V8 has not got round to yet.
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    const rss: number[] = [];
    for (let r = 0; r < 60; r++) {
      await round(r);
      collectGarbage();
      await new Promise(setImmediate);
      if (r % 10 === 9) {
        rss.push(process.memoryUsage().rss / 2 ** 20);
      }
    }
    console.log(`soak RSS (MiB) every 10 rounds of 6 sequences: ${rss.map((value) => value.toFixed(0)).join(' ')}`);
    // After warm-up, growth over the last 40 rounds stays within allocator noise, not one cache per sequence.
    expect(rss[rss.length - 1] - rss[1]).toBeLessThan(32);
  });
});
