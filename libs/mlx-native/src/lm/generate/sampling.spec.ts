import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { core as mx } from '@frost-beta/mlx';
import { InvalidGenerationOptionsError } from './errors';
import { filterLogits, resolveSampling, TokenSampler, type SamplingOptions } from './sampling';

// Probabilities 0.5, 0.3, 0.15, 0.05 as log-probabilities.
const PROBS = [0.5, 0.3, 0.15, 0.05];
const logprobs = (): mx.array => mx.array(PROBS.map(Math.log), mx.float32);

function kept(options: SamplingOptions): boolean[] {
  const filtered = filterLogits(logprobs(), resolveSampling(options)).tolist() as number[];
  return filtered.map((value) => value !== -Infinity);
}

async function draw(sampler: TokenSampler, count: number, from: mx.array = logprobs()): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(sampler.sample(from).item() as number);
    if (i % 100 === 99) {
      await nextMacrotask();
    }
  }
  return ids;
}

function frequencies(ids: number[], vocab: number): number[] {
  const counts = new Array<number>(vocab).fill(0);
  for (const id of ids) {
    counts[id]++;
  }
  return counts.map((count) => count / ids.length);
}

describe('filterLogits', () => {
  test('top_p keeps the smallest set of top tokens reaching p', () => {
    expect(kept({ topP: 0.75 })).toEqual([true, true, false, false]);
    expect(kept({ topP: 0.9 })).toEqual([true, true, true, false]);
    expect(kept({ topP: 0.1 })).toEqual([true, false, false, false]);
    expect(kept({ topP: 1 })).toEqual([true, true, true, true]);
  });

  test('a top_p near 0 keeps exactly the most likely token of a real-sized vocabulary', () => {
    // Float32 sums over ~150k probabilities drift by ~1e-4: summed from the bottom they kept a dozen
    // tokens for a flat distribution and none at all for a peaked one (then token 0 came out).
    const vocab = 151_936;
    for (const [seed, scale] of [[0, 0.02], [1, 1], [2, 20]]) {
      mx.random.seed(seed);
      const logits = mx.multiply(mx.random.normal([vocab]), scale);
      const best = mx.argmax(logits).item() as number;
      for (const topP of [1e-6, 1e-9]) {
        const survivors = mx.greater(filterLogits(logits, resolveSampling({ topP })), -Infinity);
        expect(mx.sum(survivors).item()).toBe(1);
        expect(survivors.index(best).item()).toBe(true);
      }
    }
  });

  test('min_p keeps tokens at least min_p times as likely as the best', () => {
    expect(kept({ minP: 0.5 })).toEqual([true, true, false, false]);
    expect(kept({ minP: 0.25 })).toEqual([true, true, true, false]);
  });

  test('top_k keeps the k most likely tokens', () => {
    expect(kept({ topK: 1 })).toEqual([true, false, false, false]);
    expect(kept({ topK: 3 })).toEqual([true, true, true, false]);
    expect(kept({ topK: 10 })).toEqual([true, true, true, true]);
  });

  test('filters combine', () => {
    expect(kept({ topP: 0.9, topK: 2 })).toEqual([true, true, false, false]);
    expect(kept({ topK: 3, minP: 0.5 })).toEqual([true, true, false, false]);
  });

  test('kept tokens keep their log-probabilities', () => {
    const filtered = filterLogits(logprobs(), resolveSampling({ topK: 2 })).tolist() as number[];
    expect(filtered[0]).toBeCloseTo(Math.log(0.5), 6);
    expect(filtered[1]).toBeCloseTo(Math.log(0.3), 6);
  });
});

describe('TokenSampler', () => {
  test('temperature 0 is greedy', async () => {
    expect(new Set(await draw(new TokenSampler(resolveSampling({ temperature: 0 })), 20))).toEqual(new Set([0]));
  });

  test('a top_p near 0 samples what temperature 0 picks', async () => {
    const vocab = 151_936;
    for (const [seed, scale] of [[0, 1], [1, 1], [2, 20], [3, 20]]) {
      mx.random.seed(seed);
      const logits = mx.multiply(mx.random.normal([vocab]), scale);
      const greedy = (await draw(new TokenSampler(resolveSampling({ temperature: 0 })), 1, logits))[0];
      const nucleus = await draw(new TokenSampler(resolveSampling({ temperature: 1, topP: 1e-6, seed })), 8, logits);
      expect(nucleus).toEqual(new Array(8).fill(greedy));
    }
  });

  test('temperature 1 samples the distribution itself', async () => {
    const freq = frequencies(await draw(new TokenSampler(resolveSampling({ temperature: 1, seed: 1 })), 3000), 4);
    freq.forEach((f, i) => expect(Math.abs(f - PROBS[i])).toBeLessThan(0.03));
  });

  test('lower temperature sharpens, higher flattens', async () => {
    // At temperature T the top token's probability is p0^(1/T) / Σ p^(1/T): ≈ 0.685 at T=0.5, ≈ 0.379 at T=2.
    const expectedTop = (t: number): number => PROBS[0] ** (1 / t) / PROBS.reduce((sum, p) => sum + p ** (1 / t), 0);
    const sharp = frequencies(await draw(new TokenSampler(resolveSampling({ temperature: 0.5, seed: 2 })), 3000), 4);
    const flat = frequencies(await draw(new TokenSampler(resolveSampling({ temperature: 2, seed: 3 })), 3000), 4);
    expect(Math.abs(sharp[0] - expectedTop(0.5))).toBeLessThan(0.03);
    expect(Math.abs(flat[0] - expectedTop(2))).toBeLessThan(0.03);
  });

  test('top_k, top_p and min_p restrict what is sampled', async () => {
    for (const options of [{ topK: 2 }, { topP: 0.75 }, { minP: 0.5 }]) {
      const ids = await draw(new TokenSampler(resolveSampling({ ...options, seed: 4 })), 400);
      expect(new Set(ids)).toEqual(new Set([0, 1]));
    }
  });

  test('the same seed reproduces the same tokens, other seeds give others', async () => {
    const first = await draw(new TokenSampler(resolveSampling({ seed: 42 })), 64);
    const again = await draw(new TokenSampler(resolveSampling({ seed: 42 })), 64);
    const other = await draw(new TokenSampler(resolveSampling({ seed: 43 })), 64);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  test('interleaved requests and the global seed do not disturb a seeded request', async () => {
    const alone = await draw(new TokenSampler(resolveSampling({ seed: 7 })), 32);
    const seeded = new TokenSampler(resolveSampling({ seed: 7 }));
    const neighbour = new TokenSampler(resolveSampling({ seed: 8 }));
    const interleaved: number[] = [];
    for (let i = 0; i < 32; i++) {
      mx.random.seed(i);
      await draw(neighbour, 3);
      mx.random.uniform(0, 1, [4]);
      interleaved.push(seeded.sample(logprobs()).item() as number);
    }
    expect(interleaved).toEqual(alone);
  });

  test('without a seed, requests differ', async () => {
    const a = await draw(new TokenSampler(resolveSampling({})), 64);
    const b = await draw(new TokenSampler(resolveSampling({})), 64);
    expect(a).not.toEqual(b);
  });
});

describe('resolveSampling', () => {
  test('defaults to OpenAI temperature 1 and no truncation', () => {
    expect(resolveSampling({ seed: 1 })).toEqual({ temperature: 1, topP: 1, topK: 0, minP: 0, seed: 1 });
  });

  test.each([{ temperature: -1 }, { topP: 0 }, { topP: 1.5 }, { topK: 1.5 }, { minP: 2 }, { seed: 0.5 }])('rejects %j', (options) => {
    expect(() => resolveSampling(options)).toThrow(InvalidGenerationOptionsError);
  });
});
