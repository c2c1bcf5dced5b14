import type { ChatGenerationParams, ChatWireMessage, ChatWireResponseFormat, ChatWireToolChoice } from '@mlx-omni/ipc';
import type { ChatCompletionRequestDto, ChatMessageDto } from '@mlx-omni/openai-dto';
import { ApiError } from '../../common/errors/api-error';
import { toSamplingOptions, toStopSequences } from '../shared/sampling';

function invalid(param: string, message: string): ApiError {
  return new ApiError(400, message, { param, code: 'invalid_value' });
}

/** Text parts are joined with newlines, as vLLM does, so multi-part prompts keep their paragraphs. */
function flattenContent(message: ChatMessageDto): string | null {
  const content = message.content;
  if (content === undefined || content === null) {
    return null;
  }
  return typeof content === 'string' ? content : content.map((part) => part.text).join('\n');
}

function toWireMessage(message: ChatMessageDto): ChatWireMessage {
  return {
    role: message.role,
    content: flattenContent(message),
    ...(message.name === undefined ? {} : { name: message.name }),
    ...(message.tool_calls === undefined
      ? {}
      : { tool_calls: message.tool_calls.map((call) => ({ id: call.id, type: 'function' as const, function: { ...call.function } })) }),
    ...(message.tool_call_id === undefined ? {} : { tool_call_id: message.tool_call_id }),
  };
}

function resolveToolChoice(request: ChatCompletionRequestDto): ChatWireToolChoice {
  const tools = request.tools ?? [];
  const choice = request.tool_choice ?? (tools.length > 0 ? 'auto' : 'none');
  if (choice !== 'none' && tools.length === 0) {
    throw invalid('tool_choice', `tool_choice "${typeof choice === 'string' ? choice : choice.function.name}" needs a non-empty tools list`);
  }
  if (typeof choice === 'object' && !tools.some((tool) => tool.function.name === choice.function.name)) {
    throw invalid('tool_choice', `tool_choice names the function "${choice.function.name}", which is not in tools`);
  }
  return choice;
}

function resolveResponseFormat(request: ChatCompletionRequestDto): ChatWireResponseFormat {
  const format = request.response_format;
  if (format === undefined || format.type === 'text') {
    return { type: 'text' };
  }
  if (format.type === 'json_object') {
    return format.schema === undefined ? { type: 'json_object' } : { type: 'json_schema', name: 'json_object', schema: format.schema, strict: true };
  }
  const schema = format.json_schema?.schema;
  if (format.json_schema === undefined || schema === undefined) {
    throw invalid('response_format.json_schema.schema', 'response_format of type json_schema needs json_schema.schema');
  }
  return { type: 'json_schema', name: format.json_schema.name, schema, strict: format.json_schema.strict ?? false };
}

/**
 * Turns a validated request into what the worker runs, applying OpenAI's defaults and the
 * cross-field rules class-validator cannot express. `modelPath` is the resolved model directory;
 * `defaultMaxTokens` (MLX_OMNI_DEFAULT_MAX_TOKENS) caps a request that names no limit.
 */
export function toGenerationParams(request: ChatCompletionRequestDto, modelPath: string, caller: string, defaultMaxTokens: number): ChatGenerationParams {
  if (request.top_logprobs !== undefined && request.top_logprobs > 0 && request.logprobs !== true) {
    throw invalid('top_logprobs', 'top_logprobs requires logprobs to be true');
  }
  return {
    model: request.model,
    caller,
    modelPath,
    messages: request.messages.map(toWireMessage),
    tools: (request.tools ?? []).map((tool) => ({ type: 'function', function: { ...tool.function } })),
    toolChoice: resolveToolChoice(request),
    parallelToolCalls: request.parallel_tool_calls ?? true,
    responseFormat: resolveResponseFormat(request),
    // chat_template_kwargs, the more specific, wins over the standard field.
    templateKwargs: { ...(request.reasoning_effort === undefined ? {} : { reasoning_effort: request.reasoning_effort }), ...request.chat_template_kwargs },
    n: request.n ?? 1,
    maxTokens: request.max_completion_tokens ?? request.max_tokens ?? defaultMaxTokens,
    stop: toStopSequences(request),
    sampling: toSamplingOptions(request),
    logprobs: request.logprobs ?? false,
    topLogprobs: request.top_logprobs ?? 0,
  };
}
