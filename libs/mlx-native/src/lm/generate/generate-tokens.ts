import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { core as mx } from '@frost-beta/mlx';
import type { LanguageModel } from '../language-model';
import { ContextLengthExceededError, requireOption } from './errors';
import type { TokenGenerationEvent, TokenLogprob } from './events';
import { GenerationClock } from './generation-clock';
import { createLogitsPipeline, type LogitsProcessingOptions } from './logits-processing';
import type { StepGate } from './fair-step-scheduler';
import { resolveSampling, TokenSampler, type SamplingOptions } from './sampling';

/** Present when node runs with --expose-gc. */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

// Only the last position's logits are ever read: prefill chunks exist to fill the cache.
const LAST_TOKEN_ONLY = { lastTokenOnly: true };

export interface TokenGenerationOptions extends SamplingOptions, LogitsProcessingOptions {
  /** Completion tokens at most; by default whatever the context window leaves after the prompt. */
  maxTokens?: number;
  /** Generation stops, with reason `stop`, when one of these is sampled; the token itself is not reported. */
  eosTokenIds?: readonly number[];
  /** Report the chosen token's logprob. */
  logprobs?: boolean;
  /** Also report this many most likely alternatives per step (implies `logprobs`). */
  topLogprobs?: number;
  /** Prompt tokens per forward pass while prefilling; bounds the memory a long prompt needs. Default 512. */
  prefillChunkSize?: number;
  /** Turn-taking with the other requests of the process (see FairStepScheduler); none: event-loop order. */
  stepGate?: StepGate;
  /**
   * Only ids below this are sampled. Embedding tables are often padded past the tokenizer's
   * vocabulary, and a padded id would decode to nothing. Default: the model's whole vocabulary.
   */
  sampleVocabSize?: number;
}

/**
 * Generates token ids from a prompt, one event per token, ending with a `done` event. Invalid
 * options (`InvalidGenerationOptionsError`) and a prompt that does not fit
 * ({@link ContextLengthExceededError}) are thrown by the first `next()`, before any model work.
 *
 * Every step waits for a macrotask: MLX frees native arrays only from garbage-collection
 * finalizers, which run when the event loop turns, and an aborted `signal` can only be seen
 * then. Generation therefore stops at most one step after the signal fires.
 *
 * Reported logprobs are the log-softmax of the logits after logit bias, penalties and logits
 * processors, before temperature and top-p/top-k/min-p. They describe the model's distribution
 * under the request's constraints (a masked token shows -Infinity) and do not depend on how the
 * token was then drawn, so they stay meaningful at temperature 0 and for alternatives that
 * truncation removed. mlx-lm returns the same quantity.
 */
export async function* generateTokens(
  model: LanguageModel,
  promptIds: readonly number[],
  options: TokenGenerationOptions = {},
  signal?: AbortSignal,
): AsyncGenerator<TokenGenerationEvent> {
  const clock = new GenerationClock();
  const vocabSize = Math.min(options.sampleVocabSize ?? model.vocabSize, model.vocabSize);
  const topLogprobs = options.topLogprobs ?? 0;
  const wantLogprobs = options.logprobs === true || topLogprobs > 0;
  const chunkSize = options.prefillChunkSize ?? 512;
  requireOption(promptIds.length > 0, 'the prompt must contain at least one token');
  requireOption(options.maxTokens === undefined || (Number.isInteger(options.maxTokens) && options.maxTokens >= 0), 'maxTokens must be an integer >= 0');
  requireOption(Number.isInteger(topLogprobs) && topLogprobs >= 0 && topLogprobs <= vocabSize, 'topLogprobs must be an integer between 0 and the vocabulary size');
  requireOption(Number.isInteger(chunkSize) && chunkSize > 0, 'prefillChunkSize must be an integer > 0');
  if (promptIds.length + (options.maxTokens ?? 0) > model.contextLength || promptIds.length >= model.contextLength) {
    throw new ContextLengthExceededError(promptIds.length, options.maxTokens ?? 0, model.contextLength);
  }
  const maxTokens = options.maxTokens ?? model.contextLength - promptIds.length;
  const sampler = new TokenSampler(resolveSampling(options));
  const processLogits = createLogitsPipeline(options, promptIds, vocabSize);
  const eosTokenIds = new Set(options.eosTokenIds);
  const cache = model.createCache();
  const generated: number[] = [];

  const gate = options.stepGate;

  // Prefill everything but the last chunk, which the first sampling step feeds in.
  let fed = 0;
  while (promptIds.length - fed > chunkSize) {
    if (signal?.aborted) {
      yield clock.finish('abort', promptIds.length, 0);
      return;
    }
    await gate?.acquire();
    try {
      mx.eval(model.forward(mx.array([promptIds.slice(fed, fed + chunkSize)], mx.int32), cache, LAST_TOKEN_ONLY));
    } finally {
      gate?.release();
    }
    fed += chunkSize;
    // A chunk's intermediates (hundreds of MB on a large model) are freed only by their finalizers; a
    // collection here (when node runs with --expose-gc, as the workers do) keeps the peak at one chunk.
    collectGarbage?.();
    await nextMacrotask();
  }
  let input = mx.array([promptIds.slice(fed)], mx.int32);
  const decodeStep = () => {
    let logits = model.forward(input, cache, LAST_TOKEN_ONLY).index(0, -1);
    if (vocabSize < model.vocabSize) {
      logits = logits.index(mx.Slice(0, vocabSize));
    }
    const processed = processLogits(generated, logits);
    const token = sampler.sample(processed);
    // Normalising is a pass over the whole vocabulary, so it is only paid for when reported.
    const logprobs = wantLogprobs ? mx.subtract(processed, mx.logsumexp(processed, -1, true)) : undefined;
    const chosenLogprob = logprobs ? mx.take(logprobs, token) : undefined;
    const topIds = logprobs && topLogprobs > 0 ? mx.argpartition(mx.negative(logprobs), topLogprobs - 1).index(mx.Slice(0, topLogprobs)) : undefined;
    const topValues = logprobs && topIds ? mx.take(logprobs, topIds) : undefined;
    // One evaluation per step: the forward pass, sampling and logprobs run as one graph.
    mx.eval(...[token, chosenLogprob, topIds, topValues].filter((array) => array !== undefined));
    return { tokenId: token.item() as number, chosenLogprob, topIds, topValues };
  };

  for (;;) {
    if (signal?.aborted) {
      yield clock.finish('abort', promptIds.length, generated.length);
      return;
    }
    if (generated.length >= maxTokens) {
      yield clock.finish('length', promptIds.length, generated.length);
      return;
    }
    await gate?.acquire();
    let step: ReturnType<typeof decodeStep>;
    try {
      step = decodeStep();
    } finally {
      gate?.release();
    }
    const { tokenId, chosenLogprob, topIds, topValues } = step;
    clock.firstToken();

    if (eosTokenIds.has(tokenId)) {
      yield clock.finish('stop', promptIds.length, generated.length);
      return;
    }
    generated.push(tokenId);
    yield {
      type: 'token',
      tokenId,
      ...(chosenLogprob ? { logprob: chosenLogprob.item() as number } : {}),
      ...(topIds && topValues ? { topLogprobs: sortedLogprobs(topIds, topValues) } : {}),
    };
    await nextMacrotask();
    input = mx.array([[tokenId]], mx.int32);
  }
}

function sortedLogprobs(ids: mx.array, values: mx.array): TokenLogprob[] {
  const idList = ids.tolist() as number[];
  const valueList = values.tolist() as number[];
  return idList.map((tokenId, i) => ({ tokenId, logprob: valueList[i] })).sort((a, b) => b.logprob - a.logprob);
}
