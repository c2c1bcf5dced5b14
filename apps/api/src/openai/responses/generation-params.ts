import type { ChatGenerationParams, ChatWireMessage, ChatWireResponseFormat, ChatWireTool, ChatWireToolChoice } from '@mlx-omni/ipc';
import type { CreateResponseRequestDto } from '@mlx-omni/openai-dto';
import { ApiError } from '../../common/errors/api-error';

function invalid(param: string, message: string): ApiError {
  return new ApiError(400, message, { param, code: 'invalid_value' });
}

function toolChoiceOf(request: CreateResponseRequestDto, tools: ChatWireTool[]): ChatWireToolChoice {
  const choice = request.tool_choice ?? (tools.length > 0 ? 'auto' : 'none');
  if (choice !== 'none' && choice !== 'auto' && tools.length === 0) {
    throw invalid('tool_choice', `tool_choice ${JSON.stringify(choice)} needs a non-empty tools list`);
  }
  if (typeof choice !== 'object') {
    return tools.length === 0 ? 'none' : choice;
  }
  if (!tools.some((tool) => tool.function.name === choice.name)) {
    throw invalid('tool_choice', `tool_choice names the function "${choice.name}", which is not in tools`);
  }
  return { type: 'function', function: { name: choice.name } };
}

function formatOf(request: CreateResponseRequestDto): ChatWireResponseFormat {
  const format = request.text?.format;
  switch (format?.type ?? 'text') {
    case 'text':
      return { type: 'text' };
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema':
      return { type: 'json_schema', name: format!.name!, schema: format!.schema!, strict: format!.strict ?? false };
  }
}

/**
 * The template variables `reasoning.effort` sets: `reasoning_effort` (gpt-oss reads it), and for
 * `none` `enable_thinking: false` (Qwen3's switch). Without it the template's own default holds.
 */
function templateKwargsOf(request: CreateResponseRequestDto): Record<string, unknown> {
  const effort = request.reasoning?.effort;
  return effort === undefined ? {} : { reasoning_effort: effort, enable_thinking: effort !== 'none' };
}

/**
 * Maps a Responses request to the worker's chat parameters. `conversation` is the whole
 * conversation as chat messages (the previous responses' items, then this input); `instructions`
 * go first, for this response only. `defaultMaxTokens` (MLX_OMNI_DEFAULT_MAX_TOKENS) caps a
 * request without max_output_tokens.
 */
export function toGenerationParams(
  request: CreateResponseRequestDto,
  conversation: ChatWireMessage[],
  modelPath: string,
  caller: string,
  defaultMaxTokens: number,
): ChatGenerationParams {
  const tools: ChatWireTool[] = (request.tools ?? []).map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
      ...(tool.parameters === undefined || tool.parameters === null ? {} : { parameters: tool.parameters }),
    },
  }));
  const instructions = request.instructions ?? '';
  // top_p 0 keeps only the most likely token: greedy decoding.
  const greedy = request.top_p === 0;
  return {
    model: request.model,
    caller,
    modelPath,
    messages: [...(instructions === '' ? [] : [{ role: 'system' as const, content: instructions }]), ...conversation],
    tools,
    toolChoice: toolChoiceOf(request, tools),
    parallelToolCalls: request.parallel_tool_calls ?? true,
    responseFormat: formatOf(request),
    templateKwargs: templateKwargsOf(request),
    n: 1,
    maxTokens: request.max_output_tokens ?? defaultMaxTokens,
    stop: [],
    sampling: {
      temperature: greedy ? 0 : (request.temperature ?? 1),
      topP: greedy ? 1 : (request.top_p ?? 1),
      topK: 0,
      minP: 0,
      repetitionPenalty: 1,
      presencePenalty: 0,
      frequencyPenalty: 0,
      logitBias: {},
    },
    logprobs: false,
    topLogprobs: 0,
  };
}
