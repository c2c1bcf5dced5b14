import { randomInt } from 'node:crypto';
import { core as mx } from '@frost-beta/mlx';
import { requireOption } from './errors';

/** How the next token is drawn from the processed distribution (mlx-lm's sampler, OpenAI's names). */
export interface SamplingOptions {
  /** 0 picks the most likely token; higher flattens the distribution. Default 1, as in OpenAI's API. */
  temperature?: number;
  /** Nucleus sampling: keep the most likely tokens whose probabilities add up to `topP`. Default 1 (off). */
  topP?: number;
  /** Keep only the `topK` most likely tokens. 0 (default) is off. */
  topK?: number;
  /** Drop tokens less likely than `minP` times the most likely one. 0 (default) is off. */
  minP?: number;
  /** Makes every sampled sequence reproducible; without it each request draws its own random seed. */
  seed?: number;
}

/** The sampling options with defaults filled in. */
export interface Sampling {
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  readonly minP: number;
  readonly seed: number;
}

/** Fills in defaults (a fresh random seed among them) and rejects values outside their domain. */
export function resolveSampling(options: SamplingOptions): Sampling {
  const sampling = {
    temperature: options.temperature ?? 1,
    topP: options.topP ?? 1,
    topK: options.topK ?? 0,
    minP: options.minP ?? 0,
    seed: options.seed ?? randomInt(0, 2 ** 47),
  };
  requireOption(Number.isFinite(sampling.temperature) && sampling.temperature >= 0, 'temperature must be a number >= 0');
  requireOption(sampling.topP > 0 && sampling.topP <= 1, 'topP must be in (0, 1]');
  requireOption(Number.isInteger(sampling.topK) && sampling.topK >= 0, 'topK must be an integer >= 0');
  requireOption(sampling.minP >= 0 && sampling.minP <= 1, 'minP must be in [0, 1]');
  requireOption(Number.isSafeInteger(sampling.seed), 'seed must be an integer');
  return sampling;
}

/**
 * Masks the tokens that top-p, min-p and top-k exclude (to -inf), before temperature, in
 * mlx-lm's order, so the same request samples from the same candidate set as mlx-lm does. Works
 * on logits of any offset: min-p and top-k compare differences, top-p normalises for itself.
 * Each filter keeps the most likely token, so the result is never empty.
 */
export function filterLogits(logits: mx.array, { topP, minP, topK }: Sampling): mx.array {
  let filtered = logits;
  if (topP < 1) {
    // A token survives when the probability mass strictly above it is below topP: it is inside the
    // smallest set of top tokens that reaches topP (transformers' rule). The mass is summed from the
    // most likely token down, so for a small topP it adds a few small numbers exactly; summing up
    // from the least likely (mlx-lm's order) accumulates float32 error over the whole vocabulary
    // (~1e-4 at 150k tokens), which with topP = 1e-6 kept a dozen tokens or masked every one, and a
    // fully masked row samples token 0. The most likely token has nothing above it, so it always
    // survives and a topP near 0 is greedy. A full sort is the price of exactness; it is the
    // dearest step of sampling on the CPU backend.
    const probs = mx.softmax(filtered, -1);
    const descending = mx.negative(mx.sort(mx.negative(probs), -1));
    const massAbove = mx.subtract(mx.cumsum(descending), descending);
    const smallestKept = mx.min(mx.where(mx.less(massAbove, topP), descending, Infinity));
    filtered = mx.where(mx.less(probs, smallestKept), -Infinity, filtered);
  }
  if (minP > 0) {
    const floor = mx.add(mx.max(filtered), Math.log(minP));
    filtered = mx.where(mx.less(filtered, floor), -Infinity, filtered);
  }
  if (topK > 0 && topK < filtered.shape[0]) {
    // Ties with the k-th value are kept (transformers does the same); an exact k would need a scatter.
    const kth = mx.min(mx.topk(filtered, topK));
    filtered = mx.where(mx.less(filtered, kth), -Infinity, filtered);
  }
  return filtered;
}

/**
 * Draws tokens for one request. The request owns its PRNG key and splits it every step, so a seed
 * reproduces the same tokens and concurrent requests never touch MLX's global random state.
 */
export class TokenSampler {
  private key: mx.array;

  constructor(private readonly sampling: Sampling) {
    this.key = mx.random.key(sampling.seed);
  }

  /** `logits` is 1-D [vocab], normalised or not; returns a scalar uint32 token id, still lazy. */
  sample(logits: mx.array): mx.array {
    if (this.sampling.temperature === 0) {
      return mx.argmax(logits, -1);
    }
    const keys = mx.random.split(this.key, 2);
    this.key = keys.index(0);
    const scaled = mx.multiply(filterLogits(logits, this.sampling), 1 / this.sampling.temperature);
    return mx.random.categorical(scaled, -1, undefined, undefined, keys.index(1));
  }
}
