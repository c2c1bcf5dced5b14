import { callsFromJson, parseJsonOrUndefined, ToolCallFamily } from './tool-call-parser';

/**
 * Qwen 2/2.5/3 and Hermes: each call is a JSON object between `<tool_call>` tags on its own
 * lines, several calls in a row when the model calls tools in parallel.
 */
export const HERMES: ToolCallFamily = {
  name: 'hermes',
  templateMarkers: ['<tool_call>'],
  sections: [
    {
      open: '<tool_call>',
      close: '</tool_call>',
      decode: (payload) => callsFromJson(parseJsonOrUndefined(payload.trim())),
    },
  ],
};
