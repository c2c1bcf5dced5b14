import type { RawToolCall, ToolCallFamily } from './tool-call-parser';

const FUNCTION = /<function=([^>\n]+)>/;
const PARAMETER = /<parameter=([^>\n]+)>\n?([\s\S]*?)(?:\n?<\/parameter>|(?=<parameter=)|(?=<\/function>)|$)/g;

/**
 * `<function=NAME>` then `<parameter=P>\nvalue\n</parameter>` per argument, then `</function>`.
 * Values are bare text; the parser types them by the tool's schema. A missing `</parameter>` or
 * `</function>` before the end (a model stopped early) still yields what was written.
 */
function decodeQwen3CoderCall(payload: string): RawToolCall[] | null {
  const fn = FUNCTION.exec(payload);
  if (fn === null || payload.slice(0, fn.index).trim() !== '') {
    return null;
  }
  const end = payload.indexOf('</function>', fn.index);
  const body = payload.slice(fn.index + fn[0].length, end < 0 ? undefined : end);
  if (end >= 0 && payload.slice(end + '</function>'.length).trim() !== '') {
    return null;
  }
  const values: Array<[string, string]> = [];
  for (const match of body.matchAll(PARAMETER)) {
    values.push([match[1].trim(), match[2]]);
  }
  return [{ name: fn[1].trim(), arguments: undefined, textArguments: values }];
}

/**
 * Qwen3-Coder (and the Qwen3.5 family after it): XML-style calls inside `<tool_call>` tags, the
 * format its chat template teaches (`<function=example_function_name>`). The template also
 * contains `<tool_call>`, so this family is tried before Hermes.
 */
export const QWEN3_CODER: ToolCallFamily = {
  name: 'qwen3_coder',
  templateMarkers: ['<function=example_function_name>', '<parameter=example_parameter_1>'],
  sections: [
    { open: '<tool_call>', close: '</tool_call>', decode: decodeQwen3CoderCall },
    // Seen in the wild: the function block without its wrapper.
    { open: '<function=', close: '</function>', openIsPayload: true, decode: (payload) => decodeQwen3CoderCall(`${payload}</function>`) },
  ],
};
