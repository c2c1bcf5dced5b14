import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { GenerationChunk, ChatGenerationParams, GenerationResult, StreamContext } from '@mlx-omni/ipc';
import { ChatTemplateError, type SubmittedSequence } from '@mlx-omni/mlx-native';
import { familyById, type ToolCallFormat } from '@mlx-omni/model-families';
import {
  assertSupportedSchema,
  forcedMarkupCallGrammar,
  forcedToolCallSchema,
  GLM45_CALLS,
  JsonConstraint,
  QWEN3_CODER_CALLS,
  ToolChoiceError,
  UnsupportedSchemaError,
  type ForcedToolChoice,
  type MarkupCallFormat,
} from '@mlx-omni/structured-output';
import { ModelPoolService, type PooledChatModel } from '../models/model-pool.service';
import { assertFitsContext, badRequest, generateChoices, generationResult, type ChoiceSettings } from '../generation/choice-generator';
import { jsonConstraintProcessor, vocabularyOf } from '../generation/constrained-decoding';
import { ChoiceOutput, usesHarmony, type OutputMode } from './choice-output';
import { withMistralCallIds } from './mistral-call-ids';
import { createToolCallParser, toolCallFamilyFor, type MarkupToolCallFormat } from './parsers';
import type { ParsedToolCall } from './parsers/tool-call-parser';

/** Formats whose forced calls are decoded in their own markup rather than as JSON. */
const MARKUP_CALL_FORMATS: Partial<Record<MarkupToolCallFormat, MarkupCallFormat>> = { qwen3_coder: QWEN3_CODER_CALLS, glm45: GLM45_CALLS };

/**
 * Sends the prompt's size just before the first generated chunk: by then prefill is done and every
 * refusal (context length, max_tokens beyond it) has happened, so it never precedes a 4xx.
 */
function announcingPrompt(ctx: StreamContext<GenerationChunk>, prompt: () => GenerationChunk): StreamContext<GenerationChunk> {
  let announced = false;
  return {
    signal: ctx.signal,
    send: async (chunk) => {
      if (!announced) {
        announced = true;
        await ctx.send(prompt());
      }
      await ctx.send(chunk);
    },
  };
}

/**
 * Generates the choices of one chat completion on a pooled model: renders the model's own chat
 * template, enforces JSON schemas and forced tool calls with a token mask while decoding, and
 * splits reasoning and tool-call markup out of free text.
 */
@Injectable()
export class ChatGenerationService {
  constructor(private readonly pool: ModelPoolService) {}

  generate(params: ChatGenerationParams, ctx: StreamContext<GenerationChunk>): Promise<GenerationResult> {
    return this.pool.use('chat', params.model, params.modelPath, (pooled) => this.generateWith(pooled, params, ctx));
  }

  /** The prompt tokens `generate` would report for the same request, without generating. */
  countTokens(params: ChatGenerationParams): Promise<{ promptTokens: number }> {
    return this.pool.use('chat', params.model, params.modelPath, async (pooled) => ({
      promptTokens: pooled.tokenizer.encode(this.renderPrompt(pooled, params), { addSpecialTokens: false }).length,
    }));
  }

  private async generateWith(pooled: PooledChatModel, params: ChatGenerationParams, ctx: StreamContext<GenerationChunk>): Promise<GenerationResult> {
    const prompt = this.renderPrompt(pooled, params);
    const promptIds = pooled.tokenizer.encode(prompt, { addSpecialTokens: false });
    assertFitsContext(pooled, promptIds.length, 'messages');
    const mode = this.outputMode(pooled, params, prompt);
    let submitted: SubmittedSequence | undefined;
    const announced = announcingPrompt(ctx, () => ({ choice: 0, type: 'prompt', promptTokens: promptIds.length, cachedTokens: submitted?.cachedTokens ?? 0 }));
    const outputs = Array.from({ length: params.n }, (_, choice) => new ChoiceOutput(choice, mode, () => `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`));
    const choices = outputs.map(
      (_, choice): ChoiceSettings => ({
        choice,
        sampling: params.sampling,
        maxTokens: params.maxTokens,
        // gpt-oss ends a tool-call turn with <|call|>, which its generation_config does not list as a stop token.
        stop: mode.kind === 'text' && usesHarmony(mode) ? [...params.stop, '<|call|>'] : params.stop,
        logprobs: params.logprobs,
        topLogprobs: params.topLogprobs,
        logitsProcessors: mode.kind === 'text' ? [] : [jsonConstraintProcessor(mode.constraint())],
        // Some families mark calls with special tokens (Mistral's [TOOL_CALLS], Llama's <|python_tag|>), and
        // harmony marks every channel with them: the parsers must see them.
        skipSpecialTokens: !(mode.kind === 'text' && (mode.toolNames.length > 0 || usesHarmony(mode))),
      }),
    );
    const run = await generateChoices(pooled, promptIds, choices, outputs, params.caller, announced, (started) => {
      submitted = started;
    });
    return generationResult(
      outputs.reduce((sum, output) => sum + output.reasoningTokens, 0),
      [run],
    );
  }

  private renderPrompt({ tokenizer, family }: PooledChatModel, params: ChatGenerationParams): string {
    if (!tokenizer.hasChatTemplate) {
      throw badRequest(`Model ${params.model} has no chat template; use /v1/completions with a plain prompt`, 'model', 'model_not_chat');
    }
    try {
      const mistral = familyById(family)?.toolCallFormat === 'mistral';
      return tokenizer.applyChatTemplate(mistral ? withMistralCallIds(params.messages) : params.messages, {
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

  /**
   * A forced call in the model's own markup when its format writes arguments as tagged values
   * (Qwen3-Coder, GLM): the grammar to decode with and the parser that reads the calls back.
   * Undefined for JSON-call formats, or when an argument's schema cannot be enforced in the
   * markup: then the call is forced as JSON, which every schema the engine supports can be.
   */
  private forcedMarkupCall(
    params: ChatGenerationParams,
    toolChoice: ForcedToolChoice,
    declaredFormat: ToolCallFormat | undefined,
    prompt: string,
  ): { grammar: ReturnType<typeof forcedMarkupCallGrammar>; parse: (text: string) => ParsedToolCall[] } | undefined {
    const family = toolCallFamilyFor({ declaredFormat, chatTemplate: prompt });
    const format = MARKUP_CALL_FORMATS[family.name];
    if (format === undefined) {
      return undefined;
    }
    try {
      const grammar = forcedMarkupCallGrammar(params.tools, toolChoice, { parallel: params.parallelToolCalls }, format);
      const parser = createToolCallParser(family, {
        toolNames: params.tools.map((tool) => tool.function.name),
        toolParameters: new Map(params.tools.map((tool) => [tool.function.name, tool.function.parameters])),
      });
      return { grammar, parse: (text) => parser.parse(text).toolCalls };
    } catch (error) {
      if (error instanceof UnsupportedSchemaError) {
        return undefined;
      }
      throw error;
    }
  }

  /** Decides, once per request, how generated text becomes chunks; schema problems are 400s naming the field. */
  private outputMode({ tokenizer, lm, family }: PooledChatModel, params: ChatGenerationParams, prompt: string): OutputMode {
    const vocabulary = vocabularyOf(tokenizer, lm.eosTokenIds);
    try {
      if (params.toolChoice === 'required' || typeof params.toolChoice === 'object') {
        const markup = this.forcedMarkupCall(params, params.toolChoice, familyById(family)?.toolCallFormat, prompt);
        if (markup !== undefined) {
          return { kind: 'forced-tool-call', constraint: () => JsonConstraint.forGrammar(markup.grammar, vocabulary), parse: markup.parse };
        }
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
      toolCallFormat: familyById(family)?.toolCallFormat,
      prompt,
      toolNames: params.toolChoice === 'none' ? [] : params.tools.map((tool) => tool.function.name),
      toolParameters: new Map(params.tools.map((tool) => [tool.function.name, tool.function.parameters])),
    };
  }
}
