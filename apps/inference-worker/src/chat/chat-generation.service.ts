import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ChatGenerationChunk, ChatGenerationParams, ChatGenerationResult, StreamContext, WireTokenLogprob } from '@mlx-omni/ipc';
import { IpcHandlerError } from '@mlx-omni/ipc';
import {
  ChatTemplateError,
  ContextLengthExceededError,
  generateText,
  InvalidGenerationOptionsError,
  type GeneratedText,
  type LogitsProcessor,
  type ModelTokenizer,
} from '@mlx-omni/mlx-native';
import { assertSupportedSchema, forcedToolCallSchema, JsonConstraint, ToolChoiceError, UnsupportedSchemaError } from '@mlx-omni/structured-output';
import { ModelPoolService, type PooledChatModel } from '../models/model-pool.service';
import { jsonConstraintProcessor, vocabularyOf } from './constrained-decoding';
import { ChoiceOutput, type OutputMode } from './choice-output';

function badRequest(message: string, param: string | null, code = 'invalid_value'): IpcHandlerError {
  return new IpcHandlerError({ message, code, status: 400, param });
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

/**
 * Generates the choices of one chat completion on a pooled model: renders the model's own chat
 * template, enforces JSON schemas and forced tool calls with a token mask while decoding, and
 * splits reasoning and tool-call markup out of free text.
 */
@Injectable()
export class ChatGenerationService {
  constructor(private readonly pool: ModelPoolService) {}

  async generate(params: ChatGenerationParams, ctx: StreamContext<ChatGenerationChunk>): Promise<ChatGenerationResult> {
    const pooled = await this.pool.acquire(params.model, params.modelPath);
    const prompt = this.renderPrompt(pooled, params);
    const promptIds = pooled.tokenizer.encode(prompt, { addSpecialTokens: false });
    const contextLength = pooled.weights.model.contextLength;
    if (promptIds.length >= contextLength) {
      throw badRequest(
        `This model's maximum context length is ${contextLength} tokens. However, your messages resulted in ${promptIds.length} tokens.`,
        'messages',
        'context_length_exceeded',
      );
    }
    const mode = this.outputMode(pooled, params, prompt);
    let completionTokens = 0;
    let reasoningTokens = 0;
    for (let choice = 0; choice < params.n; choice++) {
      const counts = await this.generateChoice(pooled, params, promptIds, mode, choice, ctx);
      completionTokens += counts.completionTokens;
      reasoningTokens += counts.reasoningTokens;
    }
    return { promptTokens: promptIds.length, completionTokens, reasoningTokens };
  }

  private renderPrompt({ tokenizer }: PooledChatModel, params: ChatGenerationParams): string {
    if (!tokenizer.hasChatTemplate) {
      throw badRequest(`Model ${params.model} has no chat template; use /v1/completions with a plain prompt`, 'model', 'model_not_chat');
    }
    try {
      return tokenizer.applyChatTemplate(params.messages, {
        tools: params.toolChoice === 'none' ? undefined : params.tools,
        templateKwargs: params.templateKwargs,
      });
    } catch (error) {
      if (error instanceof ChatTemplateError) {
        throw badRequest(`The model's chat template rejected the messages: ${error.message}`, 'messages');
      }
      throw error;
    }
  }

  /** Decides, once per request, how generated text becomes chunks; schema problems are 400s naming the field. */
  private outputMode({ tokenizer, weights }: PooledChatModel, params: ChatGenerationParams, prompt: string): OutputMode {
    const vocabulary = vocabularyOf(tokenizer, weights.eosTokenIds);
    try {
      if (params.toolChoice === 'required' || typeof params.toolChoice === 'object') {
        const schema = forcedToolCallSchema(params.tools, params.toolChoice, { parallel: params.parallelToolCalls });
        return { kind: 'forced-tool-call', constraint: () => JsonConstraint.forSchema(schema, vocabulary) };
      }
    } catch (error) {
      if (error instanceof UnsupportedSchemaError || error instanceof ToolChoiceError) {
        throw badRequest(`tool_choice cannot be enforced for these tools: ${error.message}`, 'tools');
      }
      throw error;
    }
    const format = params.responseFormat;
    if (format.type === 'json_object') {
      return { kind: 'json', constraint: () => JsonConstraint.anyObject(vocabulary) };
    }
    if (format.type === 'json_schema') {
      try {
        assertSupportedSchema(format.schema);
      } catch (error) {
        if (error instanceof UnsupportedSchemaError) {
          throw badRequest(`response_format cannot be enforced: ${error.message}`, 'response_format.json_schema.schema');
        }
        throw error;
      }
      return { kind: 'json', constraint: () => JsonConstraint.forSchema(format.schema, vocabulary) };
    }
    return {
      kind: 'text',
      modelType: weights.model.modelType,
      prompt,
      toolNames: params.toolChoice === 'none' ? [] : params.tools.map((tool) => tool.function.name),
    };
  }

  private async generateChoice(
    pooled: PooledChatModel,
    params: ChatGenerationParams,
    promptIds: readonly number[],
    mode: OutputMode,
    choice: number,
    ctx: StreamContext<ChatGenerationChunk>,
  ): Promise<{ completionTokens: number; reasoningTokens: number }> {
    const { tokenizer, weights } = pooled;
    const output = new ChoiceOutput(choice, mode, () => `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`);
    const processors: LogitsProcessor[] = mode.kind === 'text' ? [] : [jsonConstraintProcessor(mode.constraint())];
    const sampling = params.sampling;
    const events = generateText(
      weights.model,
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
        seed: sampling.seed === undefined ? undefined : sampling.seed + choice,
        maxTokens: params.maxTokens,
        stop: params.stop,
        eosTokenIds: weights.eosTokenIds,
        logprobs: params.logprobs,
        topLogprobs: params.topLogprobs,
        logitsProcessors: processors,
        // Some families mark calls with special tokens (Mistral's [TOOL_CALLS], Llama's <|python_tag|>); the parser must see them.
        skipSpecialTokens: !(mode.kind === 'text' && mode.toolNames.length > 0),
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
        return { completionTokens: event.completionTokens, reasoningTokens: output.reasoningTokens };
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
}
