import { core as mx } from '@frost-beta/mlx';
import { ensureFixtures, FIXTURE_SPECS, testHubDir } from '@mlx-omni/model-fixtures';
import type { WeightsMode } from '../../io/load-weights';
import { loadLanguageModel, type LoadedLanguageModel } from '../load-language-model';
import type { LanguageModel } from '../language-model';
import { SUPPORTED_MODEL_TYPES } from './registry';

jest.setTimeout(120_000);

/** fp32 compute everywhere on the CPU backend (bf16 and quantized weights are widened at load). */
const LOGIT_TOLERANCE = 1e-4;

let dirs: Map<string, string>;

beforeAll(async () => {
  dirs = await ensureFixtures(testHubDir());
});

afterEach(async () => {
  // Native arrays are freed by finalizers, which run only when the event loop turns.
  await new Promise(setImmediate);
});

function load(id: string, weights: WeightsMode = 'auto'): Promise<LoadedLanguageModel> {
  return loadLanguageModel(dirs.get(id) as string, { weights });
}

/** A prompt of in-vocabulary ids that differs per length. */
function promptTokens(length: number, vocab: number): number[] {
  return Array.from({ length }, (_, i) => (7919 * (i + 3) + 104729 * i * i) % vocab);
}

const row = (ids: number[]) => mx.array([ids], mx.int32);

function maxAbsDiff(a: mx.array, b: mx.array): number {
  return mx.abs(mx.subtract(a, b)).max().item() as number;
}

/** Logits of every position, fed through one cache in the given chunk sizes. */
function forwardInChunks(model: LanguageModel, ids: number[], chunks: number[]): mx.array {
  const cache = model.createCache();
  const outputs: mx.array[] = [];
  let start = 0;
  for (const size of chunks) {
    outputs.push(model.forward(row(ids.slice(start, start + size)), cache));
    start += size;
  }
  expect(start).toBe(ids.length);
  return mx.concatenate(outputs, 1);
}

async function greedy(model: LanguageModel, prompt: number[], steps: number): Promise<number[]> {
  const cache = model.createCache();
  let logits = model.forward(row(prompt), cache, { lastTokenOnly: true });
  const tokens: number[] = [];
  for (let i = 0; i < steps; i++) {
    const next = mx.argmax(logits.index(0, -1), -1).item() as number;
    tokens.push(next);
    logits = model.forward(row([next]), cache);
    await new Promise(setImmediate);
  }
  return tokens;
}

it('has a fixture for every supported model_type', () => {
  const fixtureTypes = new Set(FIXTURE_SPECS.map((s) => String(s.config['model_type'])));
  expect([...fixtureTypes].sort()).toEqual([...SUPPORTED_MODEL_TYPES].sort());
});

describe.each(FIXTURE_SPECS.map((spec) => [spec.id, spec] as const))('%s', (id, spec) => {
  // 14 tokens: past the 4-token sliding window of the Gemma fixtures, so rotation is exercised.
  const length = 14;
  let loaded: LanguageModel | undefined;
  const current = (): LanguageModel => {
    if (!loaded) {
      throw new Error(`${id} did not load`);
    }
    return loaded;
  };

  beforeAll(async () => {
    loaded = (await load(id)).model;
  });

  afterAll(async () => {
    // Let this model's arrays go before the next fixture loads.
    loaded = undefined;
    await new Promise(setImmediate);
  });

  it('loads, and decoding with the KV cache gives the logits of one full forward', () => {
    const model = current();
    const ids = promptTokens(length, model.vocabSize);
    const full = model.forward(row(ids));
    expect(full.shape).toEqual([1, length, model.vocabSize]);
    const incremental = forwardInChunks(model, ids, [5, ...Array<number>(length - 5).fill(1)]);
    const diff = maxAbsDiff(full, incremental);
    console.log(`${id}: incremental vs full max abs diff ${diff}`);
    expect(diff).toBeLessThan(LOGIT_TOLERANCE);
    // Logits must carry signal, not a constant: the comparison above would pass on zeros.
    expect(mx.std(full.index(0, -1)).item() as number).toBeGreaterThan(0.05);
  });

  it('gives the same logits for chunked prefill as for one shot, and lastTokenOnly matches', () => {
    const model = current();
    const ids = promptTokens(length, model.vocabSize);
    const oneShot = model.forward(row(ids));
    const diff = maxAbsDiff(oneShot, forwardInChunks(model, ids, [6, 5, 3]));
    console.log(`${id}: chunked prefill vs one shot max abs diff ${diff}`);
    expect(diff).toBeLessThan(LOGIT_TOLERANCE);
    const last = model.forward(row(ids), undefined, { lastTokenOnly: true });
    expect(last.shape).toEqual([1, 1, model.vocabSize]);
    expect(maxAbsDiff(last, oneShot.index(mx.Slice(), mx.Slice(length - 1, length)))).toBeLessThan(LOGIT_TOLERANCE);
  });

  if (spec.quantization) {
    it('gives the same greedy tokens with weights kept quantized and dequantized', async () => {
      const kept = await load(id, 'quantized');
      const dequantized = await load(id, 'dequantized');
      expect(kept.quantizedWeights).toBe('kept');
      expect(dequantized.quantizedWeights).toBe('dequantized');
      const prompt = promptTokens(6, kept.model.vocabSize);
      const keptTokens = await greedy(kept.model, prompt, 8);
      const dequantizedTokens = await greedy(dequantized.model, prompt, 8);
      console.log(`${id}: greedy ${keptTokens.join(' ')}`);
      expect(keptTokens).toEqual(dequantizedTokens);
      // Not a degenerate model that repeats one token whatever the input.
      expect(new Set(keptTokens).size).toBeGreaterThan(1);
      const diff = maxAbsDiff(kept.model.forward(row(prompt)), dequantized.model.forward(row(prompt)));
      console.log(`${id}: quantized vs dequantized logits max abs diff ${diff}`);
      expect(diff).toBeLessThan(1e-3);
    });
  }
});
