import type { ChatGenerationParams, ChatWireMessage, ChatWireTool, ChatWireToolChoice, SamplingWireOptions } from '@mlx-omni/ipc';
import { ApiError } from '../../common/errors/api-error';
import type { AnthropicToolResultBlockDto, RequestContentBlock } from '../dto/content-blocks.dto';
import type { AnthropicMessagesPromptDto, AnthropicMessagesRequestDto } from '../dto/messages-request.dto';

/**
 * What an image or document inside a tool result becomes. Claude Code reads image files through a
 * tool; a text model cannot see them, and refusing would break the whole coding session.
 */
export const MEDIA_IN_TOOL_RESULT = (type: string): string => `[${type} omitted: this model reads text only]`;

function invalid(param: string, message: string): ApiError {
  return new ApiError(400, message, { param, code: 'invalid_value' });
}

function toolResultText(block: AnthropicToolResultBlockDto): string {
  const content = block.content ?? '';
  return typeof content === 'string' ? content : content.map((part) => (part.type === 'text' ? (part.text ?? '') : MEDIA_IN_TOOL_RESULT(part.type))).join('\n');
}

function refusedBlock(block: RequestContentBlock, role: string, param: string): ApiError {
  if (block.type === 'image' || block.type === 'document') {
    return invalid(param, `${block.type} blocks need a model that reads them; the models this server runs read text only`);
  }
  return invalid(param, `a ${role} message cannot hold a ${block.type} block`);
}

/** A user turn: its tool results first (Anthropic puts them there), as tool messages, then its text. */
function userMessages(content: string | RequestContentBlock[], param: string): ChatWireMessage[] {
  if (typeof content === 'string') {
    return [{ role: 'user', content }];
  }
  const results: ChatWireMessage[] = [];
  const texts: string[] = [];
  content.forEach((block, index) => {
    if (block.type === 'text') {
      texts.push(block.text);
    } else if (block.type === 'tool_result') {
      results.push({ role: 'tool', tool_call_id: block.tool_use_id, content: toolResultText(block) });
    } else {
      throw refusedBlock(block, 'user', `${param}[${index}]`);
    }
  });
  return texts.length === 0 ? results : [...results, { role: 'user', content: texts.join('\n') }];
}

/** An assistant turn: text, tool calls, and its thinking (templates such as Qwen3's put it back within a tool loop). */
function assistantMessage(content: string | RequestContentBlock[], param: string): ChatWireMessage {
  if (typeof content === 'string') {
    return { role: 'assistant', content };
  }
  const texts: string[] = [];
  const thinking: string[] = [];
  const calls: NonNullable<ChatWireMessage['tool_calls']> = [];
  content.forEach((block, index) => {
    switch (block.type) {
      case 'text':
        texts.push(block.text);
        break;
      case 'thinking':
        thinking.push(block.thinking);
        break;
      case 'redacted_thinking':
        // Encrypted by Anthropic: nothing a local model could read.
        break;
      case 'tool_use':
        calls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input) } });
        break;
      case 'image':
      case 'document':
      case 'tool_result':
        throw refusedBlock(block, 'assistant', `${param}[${index}]`);
    }
  });
  return {
    role: 'assistant',
    content: texts.length === 0 && calls.length > 0 ? null : texts.join('\n'),
    ...(calls.length === 0 ? {} : { tool_calls: calls }),
    ...(thinking.length === 0 ? {} : { reasoning_content: thinking.join('\n') }),
  };
}

function toWireMessages(request: AnthropicMessagesPromptDto): ChatWireMessage[] {
  const last = request.messages[request.messages.length - 1];
  if (last.role === 'assistant') {
    throw invalid(`messages[${request.messages.length - 1}]`, 'the last message must be the user\'s: continuing a final assistant message (prefill) is not supported');
  }
  const system = typeof request.system === 'string' ? request.system : (request.system ?? []).map((block) => block.text).join('\n');
  return [
    ...(system === '' ? [] : [{ role: 'system' as const, content: system }]),
    ...request.messages.flatMap((message, index) =>
      message.role === 'user' ? userMessages(message.content, `messages[${index}].content`) : [assistantMessage(message.content, `messages[${index}].content`)],
    ),
  ];
}

function toolChoiceOf(request: AnthropicMessagesPromptDto, tools: ChatWireTool[]): { toolChoice: ChatWireToolChoice; parallelToolCalls: boolean } {
  const choice = request.tool_choice ?? undefined;
  const parallelToolCalls = choice?.disable_parallel_tool_use !== true;
  if (tools.length === 0) {
    if (choice !== undefined && choice.type !== 'none' && choice.type !== 'auto') {
      throw invalid('tool_choice', `tool_choice "${choice.type}" needs a non-empty tools list`);
    }
    return { toolChoice: 'none', parallelToolCalls };
  }
  switch (choice?.type ?? 'auto') {
    case 'auto':
      return { toolChoice: 'auto', parallelToolCalls };
    case 'none':
      return { toolChoice: 'none', parallelToolCalls };
    case 'any':
      return { toolChoice: 'required', parallelToolCalls };
    case 'tool': {
      const name = choice!.name!;
      if (!tools.some((tool) => tool.function.name === name)) {
        throw invalid('tool_choice.name', `tool_choice names the tool "${name}", which is not in tools`);
      }
      return { toolChoice: { type: 'function', function: { name } }, parallelToolCalls };
    }
  }
}

/** Anthropic's sampling fields; `top_p: 0` keeps only the most likely token, which is greedy decoding. */
function samplingOf(request: Partial<AnthropicMessagesRequestDto>): SamplingWireOptions {
  return {
    temperature: request.top_p === 0 ? 0 : (request.temperature ?? 1),
    topP: request.top_p === 0 ? 1 : (request.top_p ?? 1),
    topK: request.top_k ?? 0,
    minP: 0,
    repetitionPenalty: 1,
    presencePenalty: 0,
    frequencyPenalty: 0,
    logitBias: {},
  };
}

/** Whether the request asked for thinking blocks (the template then renders with thinking on). */
// Optional fields may arrive as null as well as absent (IsOptional lets both through).
export const wantsThinking = (request: AnthropicMessagesPromptDto): boolean => request.thinking !== undefined && request.thinking !== null && request.thinking.type !== 'disabled';

/**
 * Maps a Messages request (or a count_tokens one, which has no sampling fields) to the worker's chat
 * parameters. Thinking switches the template's `enable_thinking` (Qwen3 and others), so a model
 * asked not to think gets the prompt that tells it so.
 */
export function toGenerationParams(request: AnthropicMessagesPromptDto & Partial<AnthropicMessagesRequestDto>, modelPath: string, caller: string): ChatGenerationParams {
  const tools: ChatWireTool[] = (request.tools ?? []).map((tool) => ({
    type: 'function',
    function: { name: tool.name, ...(tool.description === undefined ? {} : { description: tool.description }), parameters: tool.input_schema },
  }));
  return {
    model: request.model,
    caller,
    modelPath,
    messages: toWireMessages(request),
    tools,
    ...toolChoiceOf(request, tools),
    responseFormat: { type: 'text' },
    templateKwargs: { enable_thinking: wantsThinking(request) },
    n: 1,
    maxTokens: request.max_tokens,
    stop: request.stop_sequences ?? [],
    sampling: samplingOf(request),
    logprobs: false,
    topLogprobs: 0,
  };
}
