import { GEMMA } from './gemma';
import { HERMES } from './hermes';
import { LLAMA3 } from './llama3';
import { MISTRAL } from './mistral';
import { createToolCallParser, TOOL_CALL_FAMILIES, toolCallFamilyFor } from './registry';

describe('tool-call format registry', () => {
  it.each([
    [{ modelType: 'qwen3' }, HERMES],
    [{ modelType: 'llama' }, LLAMA3],
    [{ modelType: 'mistral' }, MISTRAL],
    [{ modelType: 'gemma3_text' }, GEMMA],
    [{ modelType: 'something_new' }, HERMES],
    [{}, HERMES],
  ])('chooses by model_type %j', (hints, family) => {
    expect(toolCallFamilyFor(hints)).toBe(family);
  });

  it('prefers the chat template markers over model_type (a Hermes fine-tune of Llama)', () => {
    const template = '{% for tool in tools %}<tools>{{ tool }}</tools>{% endfor %}<tool_call>';
    expect(toolCallFamilyFor({ modelType: 'llama', chatTemplate: template })).toBe(HERMES);
    expect(toolCallFamilyFor({ modelType: 'llama', chatTemplate: '{{ "[AVAILABLE_TOOLS]" }}' })).toBe(MISTRAL);
    expect(toolCallFamilyFor({ chatTemplate: "{{ '<start_of_turn>model\\n' }}" })).toBe(GEMMA);
    expect(toolCallFamilyFor({ chatTemplate: "{{ '<|python_tag|>' }}" })).toBe(LLAMA3);
  });

  it('gives each family a parser that knows its name', () => {
    expect(TOOL_CALL_FAMILIES.map((f) => createToolCallParser(f).family)).toEqual(['hermes', 'mistral', 'llama3', 'gemma']);
  });
});
