import { GEMMA } from './gemma';
import { HERMES } from './hermes';
import { LLAMA3 } from './llama3';
import { MISTRAL } from './mistral';
import { QWEN3_CODER } from './qwen3-coder';
import { GLM45 } from './glm45';
import { HarmonyStream, type HarmonyOutput } from './harmony';
import { createToolCallParser } from './registry';
import { ParsedOutput, ToolCallFamily, ToolCallParserOptions } from './tool-call-parser';

function parse(family: ToolCallFamily, text: string, options?: ToolCallParserOptions): ParsedOutput {
  return createToolCallParser(family, options).parse(text);
}

/** Streams `chunks` and returns the concatenated content, the calls, and every content delta seen. */
function streamChunks(family: ToolCallFamily, chunks: string[], options?: ToolCallParserOptions) {
  const stream = createToolCallParser(family, options).stream();
  const deltas: string[] = [];
  const toolCalls: ParsedOutput['toolCalls'] = [];
  for (const piece of [...chunks.map((c) => stream.push(c)), stream.end()]) {
    deltas.push(piece.content);
    toolCalls.push(...piece.toolCalls);
  }
  return { content: deltas.join(''), toolCalls, deltas };
}

/**
 * The streaming form must agree with `parse` however the text is cut: one character at a time,
 * and at every single cut point.
 */
function expectStreamingAgrees(family: ToolCallFamily, text: string, options?: ToolCallParserOptions): void {
  const whole = parse(family, text, options);
  const cuts = [[...text], ...Array.from({ length: text.length - 1 }, (_, i) => [text.slice(0, i + 1), text.slice(i + 1)])];
  for (const chunks of cuts) {
    const streamed = streamChunks(family, chunks, options);
    expect({ content: streamed.content, toolCalls: streamed.toolCalls }).toEqual(whole);
  }
}

const call = (name: string, args: object) => ({ name, arguments: JSON.stringify(args) });

describe('Qwen/Hermes <tool_call> parser', () => {
  const two =
    'Let me check both.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n' +
    '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>';

  it('reads several calls and keeps the prose, without the layout whitespace', () => {
    expect(parse(HERMES, two)).toEqual({
      content: 'Let me check both.',
      toolCalls: [call('get_weather', { city: 'Paris' }), call('add', { a: 1, b: 2 })],
    });
    expectStreamingAgrees(HERMES, two);
  });

  it('emits a call as soon as its closing tag arrives, and never leaks markup into content deltas', () => {
    const chunks = two.match(/.{1,7}/gs)!;
    const stream = createToolCallParser(HERMES).stream();
    const seen = chunks.map((c) => stream.push(c));
    const firstCallAt = seen.findIndex((s) => s.toolCalls.length > 0);
    expect(chunks.slice(0, firstCallAt + 1).join('')).toContain('</tool_call>');
    expect(chunks.slice(0, firstCallAt).join('')).not.toContain('</tool_call>');
    for (const s of seen) {
      expect(s.content).not.toMatch(/[<>{}]/);
    }
  });

  it('accepts arguments the model double-encoded as a JSON string', () => {
    const text = '<tool_call>{"name": "f", "arguments": "{\\"x\\": 1}"}</tool_call>';
    expect(parse(HERMES, text)).toEqual({ content: '', toolCalls: [call('f', { x: 1 })] });
  });

  it('settles a call the model did not close before EOS', () => {
    expect(parse(HERMES, '<tool_call>\n{"name": "f", "arguments": {}}\n')).toEqual({
      content: '',
      toolCalls: [call('f', {})],
    });
  });

  it.each([
    ['broken JSON', 'Sure <tool_call>{"name": "f", "arguments": {</tool_call> done'],
    ['no name', '<tool_call>{"arguments": {}}</tool_call>'],
    ['arguments not an object', '<tool_call>{"name": "f", "arguments": [1]}</tool_call>'],
    ['unclosed and broken', 'text <tool_call>{"name": '],
  ])('leaves %s as plain content', (_label, text) => {
    expect(parse(HERMES, text)).toEqual({ content: text, toolCalls: [] });
    expectStreamingAgrees(HERMES, text);
  });

  it('treats calls to undeclared tools as text when the tool list is known', () => {
    const text = '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>';
    expect(parse(HERMES, text, { toolNames: ['get_weather'] })).toEqual({ content: text, toolCalls: [] });
    expect(parse(HERMES, text, { toolNames: ['rm_rf'] }).toolCalls).toHaveLength(1);
  });

  it('releases a held partial marker that turns out to be prose', () => {
    const text = 'if a <tool then b < c';
    expect(parse(HERMES, text)).toEqual({ content: text, toolCalls: [] });
    expectStreamingAgrees(HERMES, text);
    const stream = createToolCallParser(HERMES).stream();
    expect(stream.push('x <tool_').content).toBe('x');
    expect(stream.push('ca').content).toBe('');
    expect(stream.push('ll>{"name":"f","arguments":{}}</tool_call> ok')).toEqual({
      content: ' ok',
      toolCalls: [call('f', {})],
    });
    expect(stream.end()).toEqual({ content: '', toolCalls: [] });
  });
});

describe('Llama 3 JSON parser', () => {
  it('reads a call after <|python_tag|>', () => {
    const text = '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo"}}';
    expect(parse(LLAMA3, text)).toEqual({ content: '', toolCalls: [call('get_weather', { city: 'Oslo' })] });
    expectStreamingAgrees(LLAMA3, text);
  });

  it('reads several bare calls separated by ";", even with ";" inside an argument', () => {
    const text = '{"name": "sql", "parameters": {"q": "say \\"hi;\\"; select 2"}}; {"name": "add", "parameters": {"a": 1}}';
    expect(parse(LLAMA3, text)).toEqual({
      content: '',
      toolCalls: [call('sql', { q: 'say "hi;"; select 2' }), call('add', { a: 1 })],
    });
    expectStreamingAgrees(LLAMA3, text);
  });

  it.each([
    ['JSON data that is not a call', '{"answer": 42}'],
    ['a call-shaped object after prose', 'Use {"name": "f", "parameters": {}} like this.'],
    ['a half-written call cut by max_tokens', '{"name": "f", "parameters": {"x":'],
  ])('leaves %s as content', (_label, text) => {
    expect(parse(LLAMA3, text)).toEqual({ content: text, toolCalls: [] });
    expectStreamingAgrees(LLAMA3, text);
  });
});

describe('Mistral [TOOL_CALLS] parser', () => {
  it('reads the JSON-array form', () => {
    const text = '[TOOL_CALLS] [{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {}}]';
    expect(parse(MISTRAL, text)).toEqual({ content: '', toolCalls: [call('a', { x: 1 }), call('b', {})] });
    expectStreamingAgrees(MISTRAL, text);
  });

  it('reads the name[ARGS] form, one marker per call, with or without a call id', () => {
    const text = '[TOOL_CALLS]get_weather[ARGS]{"city": "Lyon"}[TOOL_CALLS]add[CALL_ID]a1B2c3D4e[ARGS]{"a": 2}';
    expect(parse(MISTRAL, text)).toEqual({
      content: '',
      toolCalls: [call('get_weather', { city: 'Lyon' }), call('add', { a: 2 })],
    });
    expectStreamingAgrees(MISTRAL, text);
  });

  it('emits the first call of the newer form once the next marker shows it is complete', () => {
    const stream = createToolCallParser(MISTRAL).stream();
    expect(stream.push('[TOOL_CALLS]a[ARGS]{}').toolCalls).toEqual([]);
    expect(stream.push('[TOOL_CALLS]b').toolCalls).toEqual([call('a', {})]);
    expect(stream.push('[ARGS]{}').toolCalls).toEqual([]);
    expect(stream.end().toolCalls).toEqual([call('b', {})]);
  });

  it('keeps text before the marker and degrades garbage after it to content', () => {
    expect(parse(MISTRAL, 'Calling now. [TOOL_CALLS]f[ARGS]{}')).toEqual({
      content: 'Calling now.',
      toolCalls: [call('f', {})],
    });
    const garbage = 'x [TOOL_CALLS] not json';
    expect(parse(MISTRAL, garbage)).toEqual({ content: garbage, toolCalls: [] });
    expectStreamingAgrees(MISTRAL, garbage);
  });
});

describe('Gemma parser', () => {
  it('reads a ```tool_code block of Python calls', () => {
    const text = 'Checking.\n```tool_code\nget_weather(city="London", days=3)\n```';
    expect(parse(GEMMA, text)).toEqual({ content: 'Checking.', toolCalls: [call('get_weather', { city: 'London', days: 3 })] });
    expectStreamingAgrees(GEMMA, text);
  });

  it('reads the bracketed Python list with every literal kind', () => {
    const text = "[get_weather(city='Paris'), add(a=1, b=-2.5, flags=[True, None], opts={'k': 'v\\'s'}, t=(1, 2))]";
    expect(parse(GEMMA, text).toolCalls).toEqual([
      call('get_weather', { city: 'Paris' }),
      call('add', { a: 1, b: -2.5, flags: [true, null], opts: { k: "v's" }, t: [1, 2] }),
    ]);
    expectStreamingAgrees(GEMMA, text);
  });

  it('reads the JSON style', () => {
    const text = '{"name": "get_weather", "parameters": {"city": "Rome"}}';
    expect(parse(GEMMA, text)).toEqual({ content: '', toolCalls: [call('get_weather', { city: 'Rome' })] });
  });

  it.each([
    ['a bracket in prose', 'I think [this] is right.'],
    ['a list answer', '[1, 2, 3]'],
    ['a positional call', '[f(1)]'],
    ['a call followed by prose', '[f(a=1)] and more'],
    ['an unclosed block', '```tool_code\nf(a=\n'],
  ])('leaves %s as content', (_label, text) => {
    expect(parse(GEMMA, text)).toEqual({ content: text, toolCalls: [] });
    expectStreamingAgrees(GEMMA, text);
  });
});

describe('Qwen3-Coder XML parser', () => {
  const parameters = {
    type: 'object',
    properties: {
      city: { type: 'string' },
      days: { type: 'integer' },
      ratio: { type: 'number' },
      metric: { type: 'boolean' },
      tags: { type: 'array', items: { type: 'string' } },
      opts: { type: 'object' },
      unit: { enum: ['c', 'f'] },
      note: { type: ['string', 'null'] },
    },
  };
  const options = { toolNames: ['get_weather', 'write_file'], toolParameters: new Map([['get_weather', parameters]]) };
  const weather =
    'Let me look.\n<tool_call>\n<function=get_weather>\n<parameter=city>\nNew York\n</parameter>\n<parameter=days>\n3\n</parameter>\n' +
    '<parameter=ratio>\n0.5\n</parameter>\n<parameter=metric>\nTrue\n</parameter>\n<parameter=tags>\n["a", "b"]\n</parameter>\n' +
    '<parameter=opts>\n{"x": 1}\n</parameter>\n<parameter=unit>\n123\n</parameter>\n<parameter=note>\n42\n</parameter>\n</function>\n</tool_call>';

  it('types each bare-text value by the tool schema (strings stay text, even when they look like numbers)', () => {
    expect(parse(QWEN3_CODER, weather, options)).toEqual({
      content: 'Let me look.',
      toolCalls: [call('get_weather', { city: 'New York', days: 3, ratio: 0.5, metric: true, tags: ['a', 'b'], opts: { x: 1 }, unit: '123', note: '42' })],
    });
    expectStreamingAgrees(QWEN3_CODER, weather, options);
  });

  it('keeps multi-line text values whole and reads several calls in a row', () => {
    const text =
      '<tool_call>\n<function=write_file>\n<parameter=path>\n/tmp/a.py\n</parameter>\n<parameter=content>\ndef f():\n    return 1\n</parameter>\n</function>\n</tool_call>\n' +
      '<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n</function>\n</tool_call>';
    expect(parse(QWEN3_CODER, text, options).toolCalls).toEqual([
      call('write_file', { path: '/tmp/a.py', content: 'def f():\n    return 1' }),
      call('get_weather', { city: 'Oslo' }),
    ]);
    expectStreamingAgrees(QWEN3_CODER, text, options);
  });

  it('settles a call cut off before its closing tags, and reads a function block without its wrapper', () => {
    expect(parse(QWEN3_CODER, '<tool_call>\n<function=get_weather>\n<parameter=city>\nRome', options).toolCalls).toEqual([call('get_weather', { city: 'Rome' })]);
    expect(parse(QWEN3_CODER, '<function=get_weather>\n<parameter=days>\n2\n</parameter>\n</function>', options).toolCalls).toEqual([call('get_weather', { days: 2 })]);
  });

  it.each([
    ['an undeclared tool', '<tool_call>\n<function=rm>\n</function>\n</tool_call>'],
    ['a Hermes JSON call', '<tool_call>\n{"name": "get_weather", "arguments": {}}\n</tool_call>'],
    ['prose after the function', '<tool_call>\n<function=get_weather>\n</function> and more\n</tool_call>'],
  ])('leaves %s as content', (_label, text) => {
    expect(parse(QWEN3_CODER, text, options)).toEqual({ content: text, toolCalls: [] });
    expectStreamingAgrees(QWEN3_CODER, text, options);
  });
});

describe('GLM-4.5 <arg_key> parser', () => {
  const parameters = { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' }, tags: { type: 'array' } } };
  const options = { toolNames: ['get_weather'], toolParameters: new Map([['get_weather', parameters]]) };

  it('reads the name and typed key/value pairs, with or without newlines between them', () => {
    const text =
      'Checking.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>2024</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>' +
      '<tool_call>get_weather<arg_key>tags</arg_key><arg_value>["a"]</arg_value></tool_call>';
    expect(parse(GLM45, text, options)).toEqual({
      content: 'Checking.',
      toolCalls: [call('get_weather', { city: '2024', days: 3 }), call('get_weather', { tags: ['a'] })],
    });
    expectStreamingAgrees(GLM45, text, options);
  });

  it('reads a call without arguments', () => {
    expect(parse(GLM45, '<tool_call>get_weather\n</tool_call>', options).toolCalls).toEqual([call('get_weather', {})]);
  });

  it.each([
    ['a Hermes JSON call', '<tool_call>{"name": "get_weather", "arguments": {}}</tool_call>'],
    ['stray text between pairs', '<tool_call>get_weather<arg_key>city</arg_key><arg_value>x</arg_value> junk</tool_call>'],
  ])('leaves %s as content', (_label, text) => {
    expect(parse(GLM45, text, options)).toEqual({ content: text, toolCalls: [] });
  });
});

describe('harmony channels (gpt-oss)', () => {
  function harmony(chunks: string[], tools: string[] = ['get_weather']) {
    const stream = new HarmonyStream(new Set(tools));
    const total: HarmonyOutput = { reasoning: '', content: '', toolCalls: [] };
    const deltas: HarmonyOutput[] = [];
    for (const piece of [...chunks.map((c) => stream.push(c)), stream.end()]) {
      deltas.push(piece);
      total.reasoning += piece.reasoning;
      total.content += piece.content;
      total.toolCalls.push(...piece.toolCalls);
    }
    return { total, deltas };
  }
  const cutEverywhere = (text: string) => [[...text], ...Array.from({ length: text.length - 1 }, (_, i) => [text.slice(0, i + 1), text.slice(i + 1)])];

  it('sends analysis to reasoning and final to content, however the text is cut', () => {
    const text = '<|channel|>analysis<|message|>User wants colours.<|end|><|start|>assistant<|channel|>final<|message|>Red, green, blue.';
    const expected = { reasoning: 'User wants colours.', content: 'Red, green, blue.', toolCalls: [] };
    for (const chunks of [[text], ...cutEverywhere(text)]) {
      expect(harmony(chunks).total).toEqual(expected);
    }
  });

  it('reads a commentary message to functions.NAME as a call, both header orders, and holds terminators back', () => {
    const afterChannel = '<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>';
    const beforeChannel = ' to=functions.get_weather<|channel|>commentary json<|message|>{"city":"Oslo"}';
    expect(harmony([afterChannel]).total).toEqual({ reasoning: 'Need weather.', content: '', toolCalls: [call('get_weather', { city: 'Paris' })] });
    expect(harmony([beforeChannel]).total.toolCalls).toEqual([call('get_weather', { city: 'Oslo' })]);
    for (const chunks of cutEverywhere(afterChannel)) {
      const { total, deltas } = harmony(chunks);
      expect(total.toolCalls).toEqual([call('get_weather', { city: 'Paris' })]);
      expect(deltas.map((d) => d.reasoning).join('')).not.toContain('<|');
    }
  });

  it('keeps calls to undeclared tools and non-object arguments as visible text, and plain output as content', () => {
    expect(harmony(['<|channel|>commentary to=functions.rm <|constrain|>json<|message|>{}<|call|>']).total).toEqual({ reasoning: '', content: '{}', toolCalls: [] });
    expect(harmony(['<|channel|>commentary to=functions.get_weather<|message|>not json']).total.content).toBe('not json');
    expect(harmony(['Just', ' words.']).total).toEqual({ reasoning: '', content: 'Just words.', toolCalls: [] });
  });
});
