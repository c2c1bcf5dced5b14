import { familyById } from '@mlx-omni/model-families';
import { GEMMA } from './gemma';
import { HERMES } from './hermes';
import { LLAMA3 } from './llama3';
import { MISTRAL } from './mistral';
import { QWEN3_CODER } from './qwen3-coder';
import { GLM45 } from './glm45';
import { createToolCallParser, TOOL_CALL_FAMILIES, toolCallFamilyFor } from './registry';

describe('tool-call format registry', () => {
  it.each([
    ['qwen3', HERMES],
    ['llama', LLAMA3],
    ['mistral', MISTRAL],
    ['gemma3_text', GEMMA],
    ['causal-lm', HERMES],
    ['glm4_moe', GLM45],
  ])('chooses by the format model-families declares for %s', (family, parser) => {
    expect(toolCallFamilyFor({ declaredFormat: familyById(family)?.toolCallFormat })).toBe(parser);
  });

  it('falls back to Hermes when nothing is known', () => {
    expect(toolCallFamilyFor({})).toBe(HERMES);
  });

  it('prefers the chat template markers over model_type (a Hermes fine-tune of Llama)', () => {
    const template = '{% for tool in tools %}<tools>{{ tool }}</tools>{% endfor %}<tool_call>';
    expect(toolCallFamilyFor({ declaredFormat: 'llama3', chatTemplate: template })).toBe(HERMES);
    expect(toolCallFamilyFor({ declaredFormat: 'llama3', chatTemplate: '{{ "[AVAILABLE_TOOLS]" }}' })).toBe(MISTRAL);
    expect(toolCallFamilyFor({ chatTemplate: "{{ '<start_of_turn>model\\n' }}" })).toBe(GEMMA);
    expect(toolCallFamilyFor({ chatTemplate: "{{ '<|python_tag|>' }}" })).toBe(LLAMA3);
    // Qwen3-Coder's prompt teaches <function=...> inside <tool_call>: not Hermes, although it is a qwen3_moe.
    const coder = '<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>';
    expect(toolCallFamilyFor({ declaredFormat: 'hermes', chatTemplate: coder })).toBe(QWEN3_CODER);
  });

  it('gives each family a parser that knows its name', () => {
    expect(TOOL_CALL_FAMILIES.map((f) => createToolCallParser(f).family)).toEqual(['qwen3_coder', 'glm45', 'hermes', 'mistral', 'llama3', 'gemma']);
  });
});
