import { createHash } from 'node:crypto';
import type { ChatWireMessage } from '@mlx-omni/ipc';

const MISTRAL_ID = /^[A-Za-z0-9]{9}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The 9-character alphanumeric id Mistral's templates demand for an OpenAI-style id (`call_…`):
 * the same every time for the same id, so a call and the tool result answering it still match
 * without the server remembering anything between requests. Ids already in Mistral's form pass.
 */
export function mistralCallId(id: string): string {
  if (MISTRAL_ID.test(id)) {
    return id;
  }
  const digest = createHash('sha256').update(id).digest();
  return Array.from(digest.subarray(0, 9), (byte) => ALPHABET[byte % ALPHABET.length]).join('');
}

/**
 * The conversation with every tool-call id (on assistant calls and on tool results) in Mistral's
 * form. Mistral's chat templates raise "Tool call IDs should be alphanumeric strings with length 9!"
 * on the ids OpenAI clients send back.
 */
export function withMistralCallIds(messages: readonly ChatWireMessage[]): ChatWireMessage[] {
  return messages.map((message) => ({
    ...message,
    ...(message.tool_calls === undefined ? {} : { tool_calls: message.tool_calls.map((call) => ({ ...call, id: mistralCallId(call.id) })) }),
    ...(message.tool_call_id === undefined ? {} : { tool_call_id: mistralCallId(message.tool_call_id) }),
  }));
}
