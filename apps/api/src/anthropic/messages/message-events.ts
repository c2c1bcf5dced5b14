import type { GenerationChunk, GenerationResult } from '@mlx-omni/ipc';
import { createHash, randomBytes } from 'node:crypto';
import type { AnthropicErrorBody } from '../anthropic-error';
import type { AnthropicMessageDto, AnthropicUsageDto, ResponseContentBlock, StopReason } from '../dto/message.dto';

type Delta =
  | { type: 'text_delta'; text: string }
  | { type: 'thinking_delta'; thinking: string }
  | { type: 'signature_delta'; signature: string }
  | { type: 'input_json_delta'; partial_json: string };

/** The events of Anthropic's Messages stream; each goes out as `event: <type>`. */
export type AnthropicStreamEvent =
  | { type: 'message_start'; message: AnthropicMessageDto }
  | { type: 'ping' }
  | { type: 'content_block_start'; index: number; content_block: ResponseContentBlock }
  | { type: 'content_block_delta'; index: number; delta: Delta }
  | { type: 'content_block_stop'; index: number }
  | { type: 'message_delta'; delta: { stop_reason: StopReason; stop_sequence: string | null }; usage: AnthropicUsageDto }
  | { type: 'message_stop' }
  | AnthropicErrorBody;

/** Anthropic's ids: a prefix and 24 base62-ish characters (`^[a-zA-Z0-9_-]+$` holds for both). */
export const anthropicId = (prefix: 'msg' | 'toolu'): string => `${prefix}_${randomBytes(18).toString('base64url').replace(/[-_]/g, '0')}`;

/**
 * The signature of a thinking block: opaque to clients, who send it back with the block. A digest of
 * the text is enough here; nothing is hidden from the client, so there is nothing to protect.
 */
export const thinkingSignature = (thinking: string): string => createHash('sha256').update(thinking).digest('base64');

export function anthropicUsage(result: Pick<GenerationResult, 'promptTokens' | 'cachedTokens'>, outputTokens: number): AnthropicUsageDto {
  // Anthropic's input_tokens excludes what the cache read: input + cache_read is the whole prompt.
  return { input_tokens: result.promptTokens - result.cachedTokens, output_tokens: outputTokens, cache_read_input_tokens: result.cachedTokens, cache_creation_input_tokens: 0 };
}

export function stopReasonOf(finish: 'stop' | 'length' | 'tool_calls', stopSequence: string | null): StopReason {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'stop':
      return stopSequence === null ? 'end_turn' : 'stop_sequence';
  }
}

/**
 * Turns a worker's chat chunks into Anthropic's stream: `message_start` with the prompt's size when
 * the worker announces it, blocks opened and closed as the output changes kind (thinking first,
 * then text and tool calls), a signature before a thinking block stops, and the stop reason last.
 * Reasoning is dropped unless thinking was requested: the client asked for none.
 */
export class AnthropicEventMapper {
  private open: { index: number; type: 'text' | 'thinking'; thinking: string } | undefined;
  private blocks = 0;
  private finish: 'stop' | 'length' | 'tool_calls' = 'stop';

  constructor(
    private readonly identity: { id: string; model: string },
    private readonly thinking: boolean,
  ) {}

  map(chunk: GenerationChunk): AnthropicStreamEvent[] {
    switch (chunk.type) {
      case 'prompt':
        return [
          {
            type: 'message_start',
            message: {
              id: this.identity.id,
              type: 'message',
              role: 'assistant',
              model: this.identity.model,
              content: [],
              stop_reason: null,
              stop_sequence: null,
              usage: anthropicUsage(chunk, 0),
            },
          },
          { type: 'ping' },
        ];
      case 'reasoning':
        return this.thinking && chunk.text !== '' ? [...this.ensureOpen('thinking'), this.appendThinking(chunk.text)] : [];
      case 'content':
        // A chunk with only logprobs (a held-back partial character) carries no text.
        return chunk.text === '' ? [] : [...this.ensureOpen('text'), { type: 'content_block_delta', index: this.open!.index, delta: { type: 'text_delta', text: chunk.text } }];
      case 'tool_call': {
        const index = this.blocks++;
        return [
          ...this.close(),
          { type: 'content_block_start', index, content_block: { type: 'tool_use', id: anthropicId('toolu'), name: chunk.name, input: {} } },
          { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: chunk.arguments } },
          { type: 'content_block_stop', index },
        ];
      }
      case 'finish':
        this.finish = chunk.reason;
        return this.close();
    }
  }

  /** The last events, once the worker's result (usage, the matched stop sequence) is in. */
  end(result: GenerationResult): AnthropicStreamEvent[] {
    const stopSequence = result.stopSequences[0] ?? null;
    return [
      ...this.close(),
      { type: 'message_delta', delta: { stop_reason: stopReasonOf(this.finish, stopSequence), stop_sequence: stopSequence }, usage: anthropicUsage(result, result.completionTokens) },
      { type: 'message_stop' },
    ];
  }

  private appendThinking(text: string): AnthropicStreamEvent {
    this.open!.thinking += text;
    return { type: 'content_block_delta', index: this.open!.index, delta: { type: 'thinking_delta', thinking: text } };
  }

  private ensureOpen(type: 'text' | 'thinking'): AnthropicStreamEvent[] {
    if (this.open?.type === type) {
      return [];
    }
    const closing = this.close();
    this.open = { index: this.blocks++, type, thinking: '' };
    const block: ResponseContentBlock = type === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' };
    return [...closing, { type: 'content_block_start', index: this.open.index, content_block: block }];
  }

  private close(): AnthropicStreamEvent[] {
    const open = this.open;
    if (open === undefined) {
      return [];
    }
    this.open = undefined;
    const signature: AnthropicStreamEvent[] =
      open.type === 'thinking' ? [{ type: 'content_block_delta', index: open.index, delta: { type: 'signature_delta', signature: thinkingSignature(open.thinking) } }] : [];
    return [...signature, { type: 'content_block_stop', index: open.index }];
  }
}

/** Folds the stream's events into the Message they describe: the non-streaming answer is the same events, folded. */
export function foldEvents(events: AnthropicStreamEvent[]): AnthropicMessageDto {
  let message: AnthropicMessageDto | undefined;
  const toolInput = new Map<number, string>();
  for (const event of events) {
    switch (event.type) {
      case 'message_start':
        message = { ...event.message, content: [] };
        break;
      case 'content_block_start':
        message!.content[event.index] = { ...event.content_block };
        break;
      case 'content_block_delta': {
        const block = message!.content[event.index];
        const delta = event.delta;
        if (delta.type === 'text_delta' && block.type === 'text') {
          block.text += delta.text;
        } else if (delta.type === 'thinking_delta' && block.type === 'thinking') {
          block.thinking += delta.thinking;
        } else if (delta.type === 'signature_delta' && block.type === 'thinking') {
          block.signature = delta.signature;
        } else if (delta.type === 'input_json_delta') {
          toolInput.set(event.index, (toolInput.get(event.index) ?? '') + delta.partial_json);
        }
        break;
      }
      case 'content_block_stop': {
        const block = message!.content[event.index];
        if (block.type === 'tool_use') {
          block.input = JSON.parse(toolInput.get(event.index) ?? '{}') as Record<string, unknown>;
        }
        break;
      }
      case 'message_delta':
        message!.stop_reason = event.delta.stop_reason;
        message!.stop_sequence = event.delta.stop_sequence;
        message!.usage = event.usage;
        break;
      case 'ping':
      case 'message_stop':
      case 'error':
        break;
    }
  }
  return message!;
}
