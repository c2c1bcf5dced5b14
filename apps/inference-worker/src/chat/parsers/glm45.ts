import type { RawToolCall, ToolCallFamily } from './tool-call-parser';

const ARGUMENT = /<arg_key>([\s\S]*?)<\/arg_key>\s*<arg_value>([\s\S]*?)(?:<\/arg_value>|$)/g;

/**
 * `NAME` then `<arg_key>k</arg_key><arg_value>v</arg_value>` pairs (newlines between them or
 * not). Values are bare text, typed later by the tool's schema; a JSON object as the whole payload
 * (some GLM outputs) is read as a Hermes call.
 */
function decodeGlmCall(payload: string): RawToolCall[] | null {
  const text = payload.trim();
  const firstKey = text.indexOf('<arg_key>');
  const name = (firstKey < 0 ? text : text.slice(0, firstKey)).trim();
  if (name === '' || /[\s<>{}]/.test(name)) {
    return null;
  }
  const values: Array<[string, string]> = [];
  if (firstKey >= 0) {
    const body = text.slice(firstKey);
    let consumed = 0;
    for (const match of body.matchAll(ARGUMENT)) {
      if (body.slice(consumed, match.index).trim() !== '') {
        return null;
      }
      values.push([match[1].trim(), match[2]]);
      consumed = match.index + match[0].length;
    }
    if (body.slice(consumed).trim() !== '') {
      return null;
    }
  }
  return [{ name, arguments: undefined, textArguments: values }];
}

/** GLM-4.5, 4.6 and 4.7: `<tool_call>name<arg_key>…</arg_key><arg_value>…</arg_value></tool_call>`, tried before Hermes. */
export const GLM45: ToolCallFamily = {
  name: 'glm45',
  templateMarkers: ['<arg_key>'],
  sections: [{ open: '<tool_call>', close: '</tool_call>', decode: decodeGlmCall }],
};
