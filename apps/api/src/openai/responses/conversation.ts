import type { ChatWireMessage } from '@mlx-omni/ipc';
import type { CreateResponseRequestDto, ResponseContentPartDto, ResponseInputItemDto, StoredInputItem } from '@mlx-omni/openai-dto';
import { randomBytes } from 'node:crypto';
import { ApiError } from '../../common/errors/api-error';

/** OpenAI's ids: a prefix and 48 hex digits (`resp_`, `msg_`, `fc_`, `rs_`, `call_`, …). */
export const responsesId = (prefix: string): string => `${prefix}_${randomBytes(24).toString('hex')}`;

/**
 * Reasoning handed to clients that keep no state (store: false, include ["reasoning.encrypted_content"]),
 * for them to send back. Nothing in it is secret, so it is only wrapped, not encrypted; a foreign
 * blob (another server's) does not carry the marker and is skipped.
 */
const REASONING_MARKER = 'mlx-omni-reasoning:';
export const wrapReasoning = (text: string): string => REASONING_MARKER + Buffer.from(text, 'utf8').toString('base64');
const unwrapReasoning = (blob: string | null | undefined): string =>
  blob?.startsWith(REASONING_MARKER) === true ? Buffer.from(blob.slice(REASONING_MARKER.length), 'base64').toString('utf8') : '';

function invalid(param: string, message: string): ApiError {
  return new ApiError(400, message, { param, code: 'invalid_value' });
}

/** The text of a list of parts; images and files cannot be read by the models this server runs. */
function partsText(parts: ResponseContentPartDto[], param: string): string {
  return parts
    .map((part, index) => {
      if (part.type === 'input_image' || part.type === 'input_file') {
        throw invalid(`${param}[${index}]`, `${part.type} parts need a model that reads them; the models this server runs read text only`);
      }
      return part.type === 'refusal' ? (part.refusal ?? '') : (part.text ?? '');
    })
    .join('\n');
}

const textOf = (content: string | ResponseContentPartDto[] | null | undefined, param: string): string =>
  typeof content === 'string' ? content : partsText(content ?? [], param);

/**
 * The request's input as stored items, each with an id: what GET …/input_items lists and what a
 * later `previous_response_id` replays. Messages keep their text only (images are refused here).
 */
export function toStoredItems(input: CreateResponseRequestDto['input']): StoredInputItem[] {
  if (typeof input === 'string') {
    return [{ type: 'message', id: responsesId('msg'), role: 'user', status: 'completed', content: [{ type: 'input_text', text: input }] }];
  }
  return input.map((item: ResponseInputItemDto, index): StoredInputItem => {
    const param = `input[${index}]`;
    switch (item.type ?? 'message') {
      case 'message': {
        const text = textOf(item.content, `${param}.content`);
        const id = item.id ?? responsesId('msg');
        return item.role === 'assistant'
          ? { type: 'message', id, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] }
          : { type: 'message', id, role: item.role!, status: 'completed', content: [{ type: 'input_text', text }] };
      }
      case 'function_call':
        return { type: 'function_call', id: item.id ?? responsesId('fc'), call_id: item.call_id!, name: item.name!, arguments: item.arguments!, status: 'completed' };
      case 'function_call_output':
        return { type: 'function_call_output', id: item.id ?? responsesId('fco'), call_id: item.call_id!, output: textOf(item.output, `${param}.output`), status: 'completed' };
      case 'reasoning': {
        // The reasoning itself when the client kept it, else what this server wrapped for it.
        const text = item.content === undefined || item.content === null || item.content.length === 0 ? unwrapReasoning(item.encrypted_content) : textOf(item.content, `${param}.content`);
        return { type: 'reasoning', id: item.id ?? responsesId('rs'), summary: [], content: text === '' ? [] : [{ type: 'reasoning_text', text }], status: 'completed' };
      }
      case 'item_reference':
        throw invalid(`${param}.type`, 'item_reference is not supported; send the item itself, or chain with previous_response_id');
    }
  });
}

/**
 * Items as chat messages. An assistant turn gathers its reasoning, its message and its function
 * calls into one assistant message (as a chat template expects them) until a user, system or tool
 * item ends it. Output items and re-sent input items of the same kinds map alike, so chaining with
 * `previous_response_id` gives the same prompt as sending the whole conversation again.
 */
export function toChatMessages(items: StoredInputItem[]): ChatWireMessage[] {
  const messages: ChatWireMessage[] = [];
  let turn: { content: string[]; reasoning: string[]; calls: NonNullable<ChatWireMessage['tool_calls']> } | undefined;
  const endTurn = (): void => {
    if (turn !== undefined) {
      messages.push({
        role: 'assistant',
        content: turn.content.length === 0 && turn.calls.length > 0 ? null : turn.content.join('\n'),
        ...(turn.calls.length === 0 ? {} : { tool_calls: turn.calls }),
        ...(turn.reasoning.length === 0 ? {} : { reasoning_content: turn.reasoning.join('\n') }),
      });
      turn = undefined;
    }
  };
  const assistantTurn = () => (turn ??= { content: [], reasoning: [], calls: [] });
  for (const item of items) {
    switch (item.type) {
      case 'message':
        if (item.role === 'assistant') {
          assistantTurn().content.push(item.content.map((part) => part.text).join('\n'));
        } else {
          endTurn();
          messages.push({ role: item.role, content: item.content.map((part) => part.text).join('\n') });
        }
        break;
      case 'reasoning':
        // Reasoning opens a turn: after the turn's answer or calls it belongs to the next one.
        if (turn !== undefined && (turn.content.length > 0 || turn.calls.length > 0)) {
          endTurn();
        }
        assistantTurn().reasoning.push(...item.content.map((part) => part.text));
        break;
      case 'function_call':
        assistantTurn().calls.push({ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } });
        break;
      case 'function_call_output':
        endTurn();
        messages.push({ role: 'tool', tool_call_id: item.call_id, content: item.output });
        break;
    }
  }
  endTurn();
  return messages;
}
