import { core as mx } from '@frost-beta/mlx';
import type { LanguageModel } from '../language-model';
import type { TokenLogprob } from './events';

/** How one prompt token scored given the tokens before it. */
export interface PromptTokenScore {
  logprob: number;
  /** The most likely tokens at that position, most likely first. */
  top: TokenLogprob[];
}

/** Prompt positions per forward: bounds the logits held at once to this many rows of the vocabulary. */
const SCORE_CHUNK = 32;

/**
 * The log-probability of each prompt token after the first given those before it (legacy
 * completions' `echo` with `logprobs`), with the `topK` alternatives at each position. The prompt
 * runs through one KV cache in chunks, so only a chunk's logits exist at a time. Raw model
 * logits: no sampling adjustments apply to text the model did not generate.
 */
export async function scorePrompt(model: LanguageModel, ids: readonly number[], topK: number): Promise<PromptTokenScore[]> {
  const cache = model.createCache();
  const scores: PromptTokenScore[] = [];
  for (let start = 0; start + 1 < ids.length; start += SCORE_CHUNK) {
    const chunk = ids.slice(start, Math.min(start + SCORE_CHUNK, ids.length - 1));
    const logits = model.forward(mx.array([chunk], mx.int32), cache).index(0);
    const logprobs = mx.subtract(logits, mx.logsumexp(logits, -1, true));
    const next = mx.array(ids.slice(start + 1, start + 1 + chunk.length), mx.int32);
    const chosen = mx.takeAlongAxis(logprobs, mx.expandDims(next, -1), -1).flatten();
    const topIds = topK > 0 ? mx.argpartition(mx.negative(logprobs), topK - 1, -1).index(mx.Slice(), mx.Slice(0, topK)) : undefined;
    const topValues = topIds ? mx.takeAlongAxis(logprobs, topIds, -1) : undefined;
    const chosenList = chosen.tolist() as number[];
    const idRows = (topIds?.tolist() ?? []) as number[][];
    const valueRows = (topValues?.tolist() ?? []) as number[][];
    chosenList.forEach((logprob, row) => {
      const top = (idRows[row] ?? []).map((tokenId, i) => ({ tokenId, logprob: valueRows[row][i] })).sort((a, b) => b.logprob - a.logprob);
      scores.push({ logprob, top });
    });
    // Let the finalizers of this chunk's logits run before the next.
    await new Promise(setImmediate);
  }
  return scores;
}
