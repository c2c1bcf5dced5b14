import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { GenerationChunk, ChatGenerationParams, GenerationResult, StreamContext } from '@mlx-omni/ipc';
import { ChatTemplateError, FairStepScheduler } from '@mlx-omni/mlx-native';
import { familyById } from '@mlx-omni/model-families';
import { assertSupportedSchema, forcedToolCallSchema, JsonConstraint, ToolChoiceError, UnsupportedSchemaError } from '@mlx-omni/structured-output';
import { ModelPoolService, type PooledChatModel } from '../models/model-pool.service';
import { assertFitsContext, badRequest, generateChoice, generationResult, type ChoiceOutcome, type ChoiceSettings } from '../generation/choice-generator';
import { jsonConstraintProcessor, vocabularyOf } from '../generation/constrained-decoding';
import { ChoiceOutput, type OutputMode } from './choice-output';

/**
 * Sends the prompt's size just before the first generated chunk: by then prefill is done and every
 * refusal (context length, max_tokens beyond it) has happened, so it never precedes a 4xx.
 */
function announcingPrompt(ctx: StreamContext<GenerationChunk>, prompt: GenerationChunk): StreamContext<GenerationChunk> {
  let announced = false;
  return {
    signal: ctx.signal,
    send: async (chunk) => {
      if (!announced) {
        announced = true;
        await ctx.send(prompt);
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
  constructor(
    private readonly pool: ModelPoolService,
    private readonly scheduler: FairStepScheduler,
  ) {}

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
    const announced = announcingPrompt(ctx, { choice: 0, type: 'prompt', promptTokens: promptIds.length, cachedTokens: 0 });
    const outcomes: ChoiceOutcome[] = [];
    let reasoningTokens = 0;
    for (let choice = 0; choice < params.n; choice++) {
      const output = new ChoiceOutput(choice, mode, () => `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`);
      const settings: ChoiceSettings = {
        choice,
        sampling: params.sampling,
        maxTokens: params.maxTokens,
        stop: params.stop,
        logprobs: params.logprobs,
        topLogprobs: params.topLogprobs,
        logitsProcessors: mode.kind === 'text' ? [] : [jsonConstraintProcessor(mode.constraint())],
        // Some families mark calls with special tokens (Mistral's [TOOL_CALLS], Llama's <|python_tag|>); the parser must see them.
        skipSpecialTokens: !(mode.kind === 'text' && mode.toolNames.length > 0),
        stepGate: this.scheduler.lane(params.caller),
      };
      outcomes.push(await generateChoice(pooled, promptIds, settings, output, announced));
      reasoningTokens += output.reasoningTokens;
    }
    return generationResult(promptIds.length, reasoningTokens, outcomes);
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
  private outputMode({ tokenizer, lm, family }: PooledChatModel, params: ChatGenerationParams, prompt: string): OutputMode {
    const vocabulary = vocabularyOf(tokenizer, lm.eosTokenIds);
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
      toolCallFormat: familyById(family)?.toolCallFormat,
      prompt,
      toolNames: params.toolChoice === 'none' ? [] : params.tools.map((tool) => tool.function.name),
    };
  }
}
