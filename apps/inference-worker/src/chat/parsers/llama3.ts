import { callsFromJson, parseJsonOrUndefined, RawToolCall, splitTopLevel, ToolCallFamily } from './tool-call-parser';

/** `{"name": ..., "parameters": {...}}` objects separated by ';'. */
function decodeLlamaCalls(payload: string): RawToolCall[] | null {
  const calls: RawToolCall[] = [];
  for (const part of splitTopLevel(payload, ';')) {
    if (part.trim() === '') {
      continue;
    }
    const value = parseJsonOrUndefined(part.trim());
    if (Array.isArray(value)) {
      return null;
    }
    const decoded = callsFromJson(value);
    if (decoded === null) {
      return null;
    }
    calls.push(...decoded);
  }
  return calls.length > 0 ? calls : null;
}

/**
 * Llama 3.1-3.3 with JSON-based tool calling: the answer is the call itself, optionally after
 * the `<|python_tag|>` token (which the detokenizer must keep). A bare object is a call only
 * when it opens the answer, as Meta's prompt format specifies.
 */
export const LLAMA3: ToolCallFamily = {
  name: 'llama3',
  templateMarkers: ['<|python_tag|>'],
  sections: [
    { open: '<|python_tag|>', close: null, decode: decodeLlamaCalls },
    { open: '{', close: null, openIsPayload: true, onlyAtStart: true, decode: decodeLlamaCalls },
  ],
};
