import { core as mx } from '@frost-beta/mlx';
import type { LanguageModel } from '../language-model';
import { ContextLengthExceededError, requireOption } from '../generate/errors';
import type { FinishReason, TokenLogprob } from '../generate/events';
import { GenerationClock } from '../generate/generation-clock';
import { createLogitsPipeline, type LogitsProcessingOptions, type LogitsProcessor } from '../generate/logits-processing';
import { resolveSampling, TokenSampler, type SamplingOptions } from '../generate/sampling';
import type { TokenStream } from './token-stream';

/** How one sequence is sampled and when it ends. */
export interface SequenceOptions extends SamplingOptions, LogitsProcessingOptions {
  /** Completion tokens at most; by default whatever the context window leaves after the prompt. */
  maxTokens?: number;
  /** Generation stops, with reason `stop`, when one of these is sampled; the token itself is not reported. */
  eosTokenIds?: readonly number[];
  /** Report the chosen token's logprob. */
  logprobs?: boolean;
  /** Also report this many most likely alternatives per step (implies `logprobs`). */
  topLogprobs?: number;
  /**
   * Only ids below this are sampled. Embedding tables are often padded past the tokenizer's
   * vocabulary, and a padded id would decode to nothing. Default: the model's whole vocabulary.
   */
  sampleVocabSize?: number;
}

/** A sequence's options checked and filled in; building it throws what a bad request deserves. */
export interface ResolvedSequence {
  readonly vocabSize: number;
  readonly topLogprobs: number;
  readonly wantLogprobs: boolean;
  readonly maxTokens: number;
  readonly eosTokenIds: ReadonlySet<number>;
  readonly sampler: TokenSampler;
  readonly processLogits: LogitsProcessor;
}

/**
 * Checks one sequence's options against the model and its prompt. Throws
 * InvalidGenerationOptionsError or {@link ContextLengthExceededError}, before any model work.
 */
export function resolveSequence(model: LanguageModel, promptIds: readonly number[], options: SequenceOptions): ResolvedSequence {
  const vocabSize = Math.min(options.sampleVocabSize ?? model.vocabSize, model.vocabSize);
  const topLogprobs = options.topLogprobs ?? 0;
  requireOption(promptIds.length > 0, 'the prompt must contain at least one token');
  requireOption(options.maxTokens === undefined || (Number.isInteger(options.maxTokens) && options.maxTokens >= 0), 'maxTokens must be an integer >= 0');
  requireOption(Number.isInteger(topLogprobs) && topLogprobs >= 0 && topLogprobs <= vocabSize, 'topLogprobs must be an integer between 0 and the vocabulary size');
  if (promptIds.length + (options.maxTokens ?? 0) > model.contextLength || promptIds.length >= model.contextLength) {
    throw new ContextLengthExceededError(promptIds.length, options.maxTokens ?? 0, model.contextLength);
  }
  return {
    vocabSize,
    topLogprobs,
    wantLogprobs: options.logprobs === true || topLogprobs > 0,
    maxTokens: options.maxTokens ?? model.contextLength - promptIds.length,
    eosTokenIds: new Set(options.eosTokenIds),
    sampler: new TokenSampler(resolveSampling(options)),
    processLogits: createLogitsPipeline(options, promptIds, vocabSize),
  };
}

/** One row's sampled token and logprobs as lazy arrays, evaluated together with every other row's. */
export interface PendingToken {
  token: mx.array;
  chosenLogprob?: mx.array;
  topIds?: mx.array;
  topValues?: mx.array;
}

/**
 * One row of the batch: a sequence being decoded. Its per-step work on the logits (processing,
 * sampling, logprobs) is exactly what a sequence alone gets; only the forward pass is shared.
 *
 * Reported logprobs are the log-softmax of the logits after logit bias, penalties and logits
 * processors, before temperature and top-p/top-k/min-p. They describe the model's distribution
 * under the request's constraints (a masked token shows -Infinity) and do not depend on how the
 * token was then drawn, so they stay meaningful at temperature 0 and for alternatives that
 * truncation removed. mlx-lm returns the same quantity.
 */
export class SequenceRow {
  readonly generated: number[] = [];
  /** Tokens whose keys and values are in the row's caches, in order: the prompt, then generated ones as they are fed. */
  readonly fed: number[];
  /** The token the next step feeds. */
  nextInput: number;
  finished = false;

  readonly caller: string;
  /** The request the row belongs to; its forks share it. */
  readonly request: object;
  readonly promptLength: number;
  /** Prompt tokens whose keys and values came from the prompt cache. */
  readonly cachedTokens: number;
  readonly settings: ResolvedSequence;
  readonly stream: TokenStream;
  readonly clock: GenerationClock;
  readonly signal: AbortSignal | undefined;

  constructor(start: {
    caller: string;
    request: object;
    prompt: readonly number[];
    cachedTokens: number;
    settings: ResolvedSequence;
    stream: TokenStream;
    clock: GenerationClock;
    signal: AbortSignal | undefined;
  }) {
    ({ caller: this.caller, request: this.request, cachedTokens: this.cachedTokens, settings: this.settings, stream: this.stream, clock: this.clock, signal: this.signal } = start);
    this.promptLength = start.prompt.length;
    this.fed = start.prompt.slice(0, -1);
    this.nextInput = start.prompt[start.prompt.length - 1];
  }

  /** No step is owed to it: its reader left or its request was cancelled. */
  get abandoned(): boolean {
    return this.stream.closed || this.signal?.aborted === true;
  }

  /** Builds the sampling graph for this row from its next-token logits [vocab]. */
  sample(logits: mx.array): PendingToken {
    const { vocabSize, wantLogprobs, topLogprobs, sampler, processLogits } = this.settings;
    const visible = vocabSize < logits.shape[0] ? logits.index(mx.Slice(0, vocabSize)) : logits;
    const processed = processLogits(this.generated, visible);
    const token = sampler.sample(processed);
    // Normalising is a pass over the whole vocabulary, so it is only paid for when reported.
    const logprobs = wantLogprobs ? mx.subtract(processed, mx.logsumexp(processed, -1, true)) : undefined;
    const chosenLogprob = logprobs ? mx.take(logprobs, token) : undefined;
    const topIds = logprobs && topLogprobs > 0 ? mx.argpartition(mx.negative(logprobs), topLogprobs - 1).index(mx.Slice(0, topLogprobs)) : undefined;
    const topValues = logprobs && topIds ? mx.take(logprobs, topIds) : undefined;
    return { token, chosenLogprob, topIds, topValues };
  }

  /** Takes the evaluated step: reports the token, or ends the sequence on EOS. */
  accept(step: PendingToken): void {
    this.fed.push(this.nextInput);
    const tokenId = step.token.item() as number;
    this.clock.firstToken();
    if (this.settings.eosTokenIds.has(tokenId)) {
      this.end('stop');
      return;
    }
    this.generated.push(tokenId);
    this.nextInput = tokenId;
    this.stream.push({
      type: 'token',
      tokenId,
      ...(step.chosenLogprob ? { logprob: step.chosenLogprob.item() as number } : {}),
      ...(step.topIds && step.topValues ? { topLogprobs: sortedLogprobs(step.topIds, step.topValues) } : {}),
    });
  }

  /** Ends the sequence when it is due to end before its next step (length, cancellation). */
  endIfDue(): boolean {
    if (this.finished) {
      return true;
    }
    if (this.signal?.aborted) {
      this.end('abort');
    } else if (this.stream.closed) {
      this.finished = true;
    } else if (this.generated.length >= this.settings.maxTokens) {
      this.end('length');
    }
    return this.finished;
  }

  end(reason: FinishReason): void {
    this.finished = true;
    this.stream.push({ ...this.clock.finish(reason, this.promptLength, this.generated.length), cachedTokens: this.cachedTokens });
  }
}

function sortedLogprobs(ids: mx.array, values: mx.array): TokenLogprob[] {
  const idList = ids.tolist() as number[];
  const valueList = values.tolist() as number[];
  return idList.map((tokenId, i) => ({ tokenId, logprob: valueList[i] })).sort((a, b) => b.logprob - a.logprob);
}
