import type { GenerationChunk, GenerationResult, GenerationTimingsWire, SamplingWireOptions, StreamContext, WireTokenLogprob } from '@mlx-omni/ipc';
import { IpcHandlerError } from '@mlx-omni/ipc';
import {
  ContextLengthExceededError,
  InvalidGenerationOptionsError,
  tokenizerLimits,
  tokensToText,
  type GeneratedText,
  type LogitsProcessor,
  type ModelTokenizer,
  type SequenceOptions,
  type SubmittedSequence,
  type TokenGenerationEvent,
} from '@mlx-omni/mlx-native';
import type { PooledChatModel } from '../models/model-pool.service';

export function badRequest(message: string, param: string | null, code = 'invalid_value'): IpcHandlerError {
  return new IpcHandlerError({ message, code, status: 400, param });
}

/** Refuses a prompt that leaves no room to generate, before any model work, in OpenAI's words. */
export function assertFitsContext(pooled: PooledChatModel, promptTokens: number, param: string): void {
  const contextLength = pooled.lm.model.contextLength;
  if (promptTokens >= contextLength) {
    throw new IpcHandlerError({
      message: `This model's maximum context length is ${contextLength} tokens. However, your prompt resulted in ${promptTokens} tokens.`,
      code: 'context_length_exceeded',
      status: 400,
      param,
      facts: { promptTokens, contextLength },
    });
  }
}

function toWireLogprobs(tokenizer: ModelTokenizer, event: GeneratedText): WireTokenLogprob[] | undefined {
  if (event.logprob === undefined) {
    return undefined;
  }
  const describe = (tokenId: number, logprob: number) => ({ token: tokenizer.tokenText(tokenId), logprob, bytes: Array.from(tokenizer.tokenBytes(tokenId)) });
  return [
    {
      ...describe(event.tokenId, event.logprob),
      top_logprobs: (event.topLogprobs ?? []).map((alternative) => describe(alternative.tokenId, alternative.logprob)),
    },
  ];
}

/** Turns one choice's text into chunks; chat splits reasoning and tool calls out, completions pass text through. */
export interface ChoiceOutputSink {
  push(text: string, logprobs: WireTokenLogprob[] | undefined): GenerationChunk[];
  end(text: string, reason: 'stop' | 'length'): GenerationChunk[];
}

export interface ChoiceSettings {
  choice: number;
  sampling: SamplingWireOptions;
  maxTokens: number | undefined;
  stop: string[];
  logprobs: boolean;
  topLogprobs: number;
  logitsProcessors: LogitsProcessor[];
  skipSpecialTokens: boolean;
}

/** How one choice ended, for the request's result. */
export interface ChoiceOutcome {
  completionTokens: number;
  stopSequence: string | null;
  timings: GenerationTimingsWire;
}

/** One prompt's choices, as submitted to the model's engine. */
export interface PromptRun {
  promptTokens: number;
  submitted: SubmittedSequence;
  outcomes: ChoiceOutcome[];
}

/** Folds the prompts' runs into the request's result; a prompt's cached tokens count once however many choices fork from it. */
export function generationResult(reasoningTokens: number, runs: PromptRun[]): GenerationResult {
  const outcomes = runs.flatMap((run) => run.outcomes);
  return {
    promptTokens: runs.reduce((sum, run) => sum + run.promptTokens, 0),
    completionTokens: outcomes.reduce((sum, outcome) => sum + outcome.completionTokens, 0),
    reasoningTokens,
    cachedTokens: runs.reduce((sum, run) => sum + run.submitted.cachedTokens, 0),
    stopSequences: outcomes.map((outcome) => outcome.stopSequence),
    timings: {
      promptMs: outcomes.reduce((sum, outcome) => sum + outcome.timings.promptMs, 0),
      generationMs: outcomes.reduce((sum, outcome) => sum + outcome.timings.generationMs, 0),
    },
  };
}

/** The engine's and the tokenizer's view of one choice's sampling. */
function sequenceOptions({ tokenizer, lm }: PooledChatModel, settings: ChoiceSettings): SequenceOptions {
  const sampling = settings.sampling;
  const options: SequenceOptions = {
    temperature: sampling.temperature,
    topP: sampling.topP,
    topK: sampling.topK,
    minP: sampling.minP,
    repetitionPenalty: sampling.repetitionPenalty,
    presencePenalty: sampling.presencePenalty,
    frequencyPenalty: sampling.frequencyPenalty,
    logitBias: sampling.logitBias,
    // Each choice gets its own stream of randomness, still reproducible from the request's seed.
    seed: sampling.seed === undefined ? undefined : sampling.seed + settings.choice,
    maxTokens: settings.maxTokens,
    eosTokenIds: lm.eosTokenIds,
    logprobs: settings.logprobs,
    topLogprobs: settings.topLogprobs,
    logitsProcessors: settings.logitsProcessors,
  };
  return { ...options, ...tokenizerLimits(tokenizer, options) };
}

/** Engine refusals that are the request's fault, as the 400s they deserve. */
function asBadRequest(error: unknown): unknown {
  if (error instanceof ContextLengthExceededError) {
    return badRequest(error.message, 'max_tokens', 'context_length_exceeded');
  }
  if (error instanceof InvalidGenerationOptionsError) {
    return badRequest(error.message, null);
  }
  return error;
}

/**
 * Generates the choices of one prompt on the model's batch engine: the prompt is computed once (or
 * partly reused from the prompt cache) and the choices decode as rows of the shared batch, their
 * chunks streamed as they come. `outputs[i]` turns choice `choices[i]`'s text into chunks.
 */
export async function generateChoices(
  pooled: PooledChatModel,
  promptIds: readonly number[],
  choices: ChoiceSettings[],
  outputs: ChoiceOutputSink[],
  caller: string,
  ctx: StreamContext<GenerationChunk>,
  onSubmitted?: (submitted: SubmittedSequence) => void,
): Promise<PromptRun> {
  let submitted: SubmittedSequence;
  try {
    submitted = pooled.engine.submit({ promptIds, forks: choices.map((settings) => sequenceOptions(pooled, settings)), caller, signal: ctx.signal });
  } catch (error) {
    throw asBadRequest(error);
  }
  onSubmitted?.(submitted);
  try {
    const outcomes = await Promise.all(
      choices.map((settings, i) => streamChoice(pooled.tokenizer, submitted.streams[i], promptIds.length, settings, outputs[i], ctx)),
    );
    return { promptTokens: promptIds.length, submitted, outcomes };
  } finally {
    // One choice failing (a closed connection) ends its siblings' rows too, rather than leaving them decoding for nobody.
    await Promise.all(submitted.streams.map((stream) => stream.return?.()));
  }
}

async function streamChoice(
  tokenizer: ModelTokenizer,
  tokens: AsyncIterable<TokenGenerationEvent>,
  promptTokens: number,
  settings: ChoiceSettings,
  output: ChoiceOutputSink,
  ctx: StreamContext<GenerationChunk>,
): Promise<ChoiceOutcome> {
  for await (const event of tokensToText(tokens, tokenizer, promptTokens, settings)) {
    if (event.type === 'token') {
      for (const chunk of output.push(event.text, toWireLogprobs(tokenizer, event))) {
        await ctx.send(chunk);
      }
      continue;
    }
    if (event.finishReason === 'abort') {
      throw new DOMException('The request was cancelled', 'AbortError');
    }
    for (const chunk of output.end(event.text, event.finishReason)) {
      await ctx.send(chunk);
    }
    return {
      completionTokens: event.completionTokens,
      stopSequence: event.stopSequence ?? null,
      timings: { promptMs: event.timings.promptMs, generationMs: event.timings.generationMs },
    };
  }
  throw new Error('Generation ended without a final event');
}
