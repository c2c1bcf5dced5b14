import type { GenerationChunk, GenerationResult, GenerationTimingsWire, SamplingWireOptions, StreamContext, WireTokenLogprob } from '@mlx-omni/ipc';
import { IpcHandlerError } from '@mlx-omni/ipc';
import {
  ContextLengthExceededError,
  generateText,
  InvalidGenerationOptionsError,
  type GeneratedText,
  type LogitsProcessor,
  type ModelTokenizer,
  type StepGate,
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
  /** This request's lane in the worker's fair scheduler. */
  stepGate: StepGate;
}

/** How one choice ended, for the request's result. */
export interface ChoiceOutcome {
  completionTokens: number;
  stopSequence: string | null;
  timings: GenerationTimingsWire;
}

/** Folds the choices' outcomes into the request's result; `cachedTokens` stays 0 until the worker has a prompt cache. */
export function generationResult(promptTokens: number, reasoningTokens: number, outcomes: ChoiceOutcome[]): GenerationResult {
  return {
    promptTokens,
    completionTokens: outcomes.reduce((sum, outcome) => sum + outcome.completionTokens, 0),
    reasoningTokens,
    cachedTokens: 0,
    stopSequences: outcomes.map((outcome) => outcome.stopSequence),
    timings: {
      promptMs: outcomes.reduce((sum, outcome) => sum + outcome.timings.promptMs, 0),
      generationMs: outcomes.reduce((sum, outcome) => sum + outcome.timings.generationMs, 0),
    },
  };
}

/** Generates one choice and streams its chunks. */
export async function generateChoice(
  { tokenizer, lm }: PooledChatModel,
  promptIds: readonly number[],
  settings: ChoiceSettings,
  output: ChoiceOutputSink,
  ctx: StreamContext<GenerationChunk>,
): Promise<ChoiceOutcome> {
  const sampling = settings.sampling;
  const events = generateText(
    lm.model,
    tokenizer,
    promptIds,
    {
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
      stop: settings.stop,
      eosTokenIds: lm.eosTokenIds,
      logprobs: settings.logprobs,
      topLogprobs: settings.topLogprobs,
      logitsProcessors: settings.logitsProcessors,
      skipSpecialTokens: settings.skipSpecialTokens,
      stepGate: settings.stepGate,
    },
    ctx.signal,
  );
  try {
    for await (const event of events) {
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
  } catch (error) {
    if (error instanceof ContextLengthExceededError) {
      throw badRequest(error.message, 'max_tokens', 'context_length_exceeded');
    }
    if (error instanceof InvalidGenerationOptionsError) {
      throw badRequest(error.message, null);
    }
    throw error;
  }
  throw new Error('Generation ended without a final event');
}
