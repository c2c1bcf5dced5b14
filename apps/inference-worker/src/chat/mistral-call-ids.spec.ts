import { ChatTemplates } from '@mlx-omni/mlx-native';
import type { ChatWireMessage } from '@mlx-omni/ipc';
import { mistralCallId, withMistralCallIds } from './mistral-call-ids';

/** The id checks of Mistral-7B-Instruct-v0.3's template, around a minimal rendering of calls and results. */
const MISTRAL_TOOL_TEMPLATE = [
  '{%- for message in messages %}',
  '{%- if message.tool_calls is defined and message.tool_calls is not none %}{{- "[TOOL_CALLS] [" }}',
  '{%- for tool_call in message.tool_calls %}{%- set out = tool_call.function|tojson %}{{- out[:-1] }}',
  '{%- if not tool_call.id is defined or tool_call.id|length != 9 %}{{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}{%- endif %}',
  '{{- \', "id": "\' + tool_call.id + \'"}\' }}{%- endfor %}{{- "]" }}',
  '{%- elif message["role"] == "tool" %}{{- \'[TOOL_RESULTS] {"content": \' + message.content|string + ", " }}',
  '{%- if not message.tool_call_id is defined or message.tool_call_id|length != 9 %}{{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}{%- endif %}',
  '{{- \'"call_id": "\' + message.tool_call_id + \'"}[/TOOL_RESULTS]\' }}',
  '{%- else %}{{- "[INST] " + message["content"] + "[/INST]" }}{%- endif %}',
  '{%- endfor %}',
].join('');

const conversation: ChatWireMessage[] = [
  { role: 'user', content: 'Weather?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_8f2b1c0d9e7a4f3b2c1d0e9f', type: 'function', function: { name: 'w', arguments: '{}' } }] },
  { role: 'tool', content: '"sunny"', tool_call_id: 'call_8f2b1c0d9e7a4f3b2c1d0e9f' },
];

describe('Mistral tool-call ids', () => {
  const template = ChatTemplates.parse(MISTRAL_TOOL_TEMPLATE);
  const render = (messages: ChatWireMessage[]) => template.render(messages, {}, {});

  it('the template refuses OpenAI-style ids as they arrive', () => {
    expect(() => render(conversation)).toThrow('Tool call IDs should be alphanumeric strings with length 9!');
  });

  it('maps them to one 9-character id per call, on the call and on its result alike', () => {
    const id = mistralCallId('call_8f2b1c0d9e7a4f3b2c1d0e9f');
    expect(id).toMatch(/^[A-Za-z0-9]{9}$/);
    expect(render(withMistralCallIds(conversation))).toBe(`[INST] Weather?[/INST][TOOL_CALLS] [{"name": "w", "arguments": {}, "id": "${id}"}][TOOL_RESULTS] {"content": "sunny", "call_id": "${id}"}[/TOOL_RESULTS]`);
  });

  it('is stable across requests, distinct across calls, and keeps ids already in Mistral form', () => {
    expect(mistralCallId('call_a')).toBe(mistralCallId('call_a'));
    expect(mistralCallId('call_a')).not.toBe(mistralCallId('call_b'));
    expect(mistralCallId('a1B2c3D4e')).toBe('a1B2c3D4e');
  });
});
