import { callsFromJson, parseJsonOrUndefined, RawToolCall, ToolCallFamily } from './tool-call-parser';

const ARGS = '[ARGS]';
const CALL_ID = '[CALL_ID]';

/**
 * Two generations of the format: `[TOOL_CALLS][{"name":..,"arguments":{..}}, ...]` (v3 tokenizers)
 * and `[TOOL_CALLS]name[ARGS]{...}` repeated per call (v11+, sometimes with `[CALL_ID]id` before `[ARGS]`).
 */
function decodeMistralCalls(payload: string): RawToolCall[] | null {
  const text = payload.trim();
  if (text.startsWith('[')) {
    const value = parseJsonOrUndefined(text);
    return Array.isArray(value) ? callsFromJson(value) : null;
  }
  const argsAt = text.indexOf(ARGS);
  if (argsAt < 0) {
    return null;
  }
  const head = text.slice(0, argsAt);
  const idAt = head.indexOf(CALL_ID);
  const name = (idAt < 0 ? head : head.slice(0, idAt)).trim();
  return [{ name, arguments: parseJsonOrUndefined(text.slice(argsAt + ARGS.length).trim()) }];
}

/** Mistral and Ministral instruct models; `[TOOL_CALLS]` is a control token the detokenizer must keep. */
export const MISTRAL: ToolCallFamily = {
  name: 'mistral',
  templateMarkers: ['[TOOL_CALLS]', '[AVAILABLE_TOOLS]'],
  sections: [{ open: '[TOOL_CALLS]', close: null, decode: decodeMistralCalls }],
};
