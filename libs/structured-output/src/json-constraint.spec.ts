import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { canEnd, initialStates, stepBytes } from './automaton';
import { compileSchema, DEFAULT_LIMITS } from './grammar';
import { allowedTokenIds, isTokenAllowed, JsonConstraint, JsonConstraintOptions, toLogitsMask } from './json-constraint';
import { fixtureVocabulary, FixtureTokenizer } from './testing/hf-vocabulary';
import { forcedToolCallSchema } from './tool-call-schema';
import { forcedMarkupCallGrammar, GLM45_CALLS, QWEN3_CODER_CALLS } from './markup-tool-call-grammar';
import { TokenVocabulary } from './vocabulary';

/** Small deterministic PRNG so a failing run can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Run {
  text: string;
  maskMs: number[];
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes like a model with random weights: a uniform pick among the allowed tokens until EOS. */
function randomRun(constraint: JsonConstraint, vocab: TokenVocabulary, random: () => number): Run {
  const bytes: number[] = [];
  const maskMs: number[] = [];
  for (let step = 0; step < 5000; step++) {
    const started = performance.now();
    const mask = constraint.allowedTokens();
    maskMs.push(performance.now() - started);
    const allowed = allowedTokenIds(mask);
    if (allowed.length === 0) {
      throw new Error(`no token allowed after ${JSON.stringify(Buffer.from(bytes).toString())}`);
    }
    const id = allowed[Math.floor(random() * allowed.length)];
    constraint.accept(id);
    if (vocab.eosTokenIds.includes(id)) {
      expect(constraint.isComplete()).toBe(true);
      // Fatal decoding: partial-character tokens must have been completed into valid UTF-8.
      return { text: strictUtf8.decode(Uint8Array.from(bytes)), maskMs };
    }
    bytes.push(...vocab.tokenBytes!(id));
  }
  throw new Error(`no EOS after 5000 tokens: ${Buffer.from(bytes).toString().slice(0, 200)}`);
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(2);
  return `steps=${sorted.length} median=${at(0.5)}ms p90=${at(0.9)}ms max=${at(1)}ms`;
}

const ajv = addFormats(new Ajv({ strict: false }));
const timings: string[] = [];
afterAll(() => console.log(`per-step mask time (this machine):\n${timings.join('\n')}`));

/** Bounds small enough that random runs stay short; the automaton enforces them the same way at any size. */
const SMALL: JsonConstraintOptions = {
  maxStringLength: 12,
  maxKeyLength: 8,
  maxArrayItems: 3,
  maxObjectProperties: 3,
  maxDepth: 4,
  maxIntegerDigits: 6,
  maxFractionDigits: 3,
};

const NESTED = {
  type: 'object',
  properties: {
    id: { type: 'integer', minimum: -5, maximum: 500 },
    label: { type: 'string', minLength: 1, maxLength: 10 },
    score: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    ok: { type: 'boolean' },
    nothing: { type: 'null' },
    color: { enum: ['red', 'green', 'blue', 7, null] },
    version: { const: 'v1' },
    owner: { $ref: '#/$defs/person' },
    items: { type: 'array', items: { $ref: '#/$defs/item' }, minItems: 1, maxItems: 3 },
    maybe: { anyOf: [{ type: 'string', maxLength: 4 }, { type: 'integer' }, { type: 'null' }] },
  },
  required: ['id', 'label', 'score', 'ok', 'nothing', 'color', 'version', 'owner', 'items', 'maybe'],
  additionalProperties: false,
  $defs: {
    person: {
      type: 'object',
      properties: { name: { type: 'string' }, email: { type: ['string', 'null'] } },
      required: ['name'],
      additionalProperties: false,
    },
    item: {
      anyOf: [
        {
          type: 'object',
          properties: { kind: { const: 'a' }, qty: { type: 'integer', minimum: 1 } },
          required: ['kind', 'qty'],
          additionalProperties: false,
        },
        {
          type: 'object',
          properties: { kind: { const: 'b' }, tags: { type: 'array', items: { type: 'string' } } },
          required: ['kind'],
          additionalProperties: false,
        },
      ],
    },
  },
};

const TREE = {
  definitions: {
    node: {
      type: 'object',
      properties: { value: { type: 'integer' }, children: { type: 'array', items: { $ref: '#/definitions/node' } } },
      required: ['value', 'children'],
      additionalProperties: false,
    },
  },
  $ref: '#/definitions/node',
};

const TOOLS = [
  {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] } },
        required: ['city', 'unit'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function' as const,
    function: {
      name: 'add',
      parameters: {
        type: 'object',
        properties: { a: { type: 'number' }, b: { type: 'number' } },
        required: ['a', 'b'],
        additionalProperties: false,
      },
    },
  },
];

const PATTERNED = {
  type: 'object',
  properties: {
    code: { type: 'string', pattern: '^[A-Z]{2}-\\d{3}$' },
    note: { type: 'string', pattern: 'ok', maxLength: 6 },
    when: { type: 'string', format: 'date-time' },
    day: { type: 'string', format: 'date' },
    at: { type: 'string', format: 'time' },
    id: { type: 'string', format: 'uuid' },
    mail: { type: 'string', format: 'email', maxLength: 16 },
    host: { type: 'string', format: 'ipv4' },
  },
  required: ['code', 'note', 'when', 'day', 'at', 'id', 'mail', 'host'],
  additionalProperties: false,
};

const SCHEMAS: Array<[string, unknown]> = [
  ['patterns and formats', PATTERNED],
  ['nested ($ref, anyOf, enums, bounds)', NESTED],
  ['recursive tree', TREE],
  ['forced parallel tool calls', forcedToolCallSchema(TOOLS, 'required', { parallel: true })],
];

describe.each<FixtureTokenizer>(['qwen3', 'gemma3'])('JsonConstraint on the real %s vocabulary', (name) => {
  let vocab: TokenVocabulary;
  beforeAll(() => {
    vocab = fixtureVocabulary(name);
  });

  it.each(SCHEMAS)('random decoding of %s always yields valid JSON', (label, schema) => {
    const validate = ajv.compile(schema as object);
    const random = mulberry32(name.length * 1000 + label.length);
    const maskMs: number[] = [];
    for (let run = 0; run < 12; run++) {
      const result = randomRun(JsonConstraint.forSchema(schema, vocab, SMALL), vocab, random);
      maskMs.push(...result.maskMs);
      const value: unknown = JSON.parse(result.text);
      if (!validate(value)) {
        throw new Error(`${result.text} fails the schema: ${ajv.errorsText(validate.errors)}`);
      }
    }
    timings.push(`${name} ${label}: ${summary(maskMs)}`);
  });

  it.each([
    ['Qwen3-Coder', QWEN3_CODER_CALLS, /<parameter=(\w+)>\n([\s\S]*?)\n<\/parameter>\n/g, /^(?:<tool_call>\n<function=(\w+)>\n(?:<parameter=\w+>\n[\s\S]*?\n<\/parameter>\n)*<\/function>\n<\/tool_call>\n?)+$/],
    ['GLM-4.5', GLM45_CALLS, /<arg_key>(\w+)<\/arg_key>\n<arg_value>([\s\S]*?)<\/arg_value>\n/g, /^(?:<tool_call>(\w+)\n(?:<arg_key>\w+<\/arg_key>\n<arg_value>[\s\S]*?<\/arg_value>\n)*<\/tool_call>\n?)+$/],
  ] as const)('random decoding of forced %s markup calls yields well-formed calls with typed values', (_label, format, argument, whole) => {
    const grammar = forcedMarkupCallGrammar(
      [
        ...TOOLS,
        { type: 'function', function: { name: 'note', parameters: { type: 'object', properties: { text: { type: 'string', maxLength: 12 }, n: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['text'] } } },
      ],
      'required',
      { parallel: true },
      format,
      { ...DEFAULT_LIMITS, ...SMALL },
    );
    const random = mulberry32(name.length + 3);
    for (let run = 0; run < 8; run++) {
      const { text } = randomRun(JsonConstraint.forGrammar(grammar, vocab), vocab, random);
      expect(text).toMatch(whole);
      for (const [, key, value] of text.matchAll(argument)) {
        if (key === 'a' || key === 'b') {
          expect(typeof JSON.parse(value)).toBe('number');
        } else if (key === 'n') {
          expect(Number.isInteger(JSON.parse(value))).toBe(true);
        } else if (key === 'unit') {
          expect(['c', 'f']).toContain(value);
        } else {
          expect(value).not.toContain(format.valueEnd);
        }
      }
    }
  });

  it('random decoding in json_object mode always yields one JSON object', () => {
    const random = mulberry32(7);
    const maskMs: number[] = [];
    for (let run = 0; run < 12; run++) {
      const result = randomRun(JsonConstraint.anyObject(vocab, SMALL), vocab, random);
      maskMs.push(...result.maskMs);
      const value: unknown = JSON.parse(result.text);
      expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
    }
    timings.push(`${name} json_object: ${summary(maskMs)}`);
  });

  it('with default limits, strings run long and masks stay cheap', () => {
    const schema = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };
    const random = mulberry32(11);
    const maskMs: number[] = [];
    for (let run = 0; run < 3; run++) {
      const result = randomRun(JsonConstraint.forSchema(schema, vocab), vocab, random);
      maskMs.push(...result.maskMs);
      expect(typeof (JSON.parse(result.text) as { text: unknown }).text).toBe('string');
    }
    timings.push(`${name} free string, default limits: ${summary(maskMs)}`);
  });

  it('allows exactly the tokens whose text the automaton accepts', () => {
    // Oracle: feed every token's bytes to the automaton on its own.
    const utf8 = new TextEncoder();
    const prefixes = [
      ...['', '{"id":4', '{"id":42,"label":"ab', '{"id":42,"label":"a\\', '{"id":42,"label":"abcdefghij'].map((p) =>
        utf8.encode(p),
      ),
      // Inside a string, after the first byte of a four-byte character.
      Uint8Array.of(...utf8.encode('{"id":42,"label":"a'), 0xf0),
    ];
    for (const prefix of prefixes) {
      const constraint = JsonConstraint.forSchema(NESTED, vocab);
      const states = stepBytes(initialStates(compileSchema(NESTED, DEFAULT_LIMITS)), prefix);
      for (const id of byteTokens(prefix, vocab)) {
        constraint.accept(id);
      }
      const mask = constraint.allowedTokens();
      for (let id = 0; id < vocab.size; id++) {
        const bytes = vocab.tokenBytes!(id);
        const expected = vocab.eosTokenIds.includes(id)
          ? canEnd(states)
          : bytes.length > 0 && stepBytes(states, bytes).length > 0;
        if (isTokenAllowed(mask, id) !== expected) {
          throw new Error(`after ${Buffer.from(prefix).toString('hex')} token ${id} ${JSON.stringify(vocab.tokenText(id))}: expected ${expected}`);
        }
      }
    }
  });
});

/** Spells bytes with single-byte tokens (both vocabularies have one for every byte). */
function byteTokens(bytes: Uint8Array, vocab: TokenVocabulary): number[] {
  const byByte = new Map<number, number>();
  for (let id = 0; id < vocab.size; id++) {
    const b = vocab.tokenBytes!(id);
    if (b.length === 1 && !byByte.has(b[0])) {
      byByte.set(b[0], id);
    }
  }
  return [...bytes].map((b) => byByte.get(b)!);
}

describe('JsonConstraint on a toy vocabulary', () => {
  const pieces = ['', '{', '}', '"', 'a', 'ab', '":', '1', '2', ' ', ',', '"a":1}', '\n', '<eos>'];
  const vocab: TokenVocabulary = {
    size: pieces.length,
    tokenText: (id) => (pieces[id] === '<eos>' ? '' : pieces[id]),
    eosTokenIds: [pieces.indexOf('<eos>')],
  };
  const id = (piece: string) => pieces.indexOf(piece);
  const allowed = (c: JsonConstraint) => [...allowedTokenIds(c.allowedTokens())].map((i) => pieces[i]);
  const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };

  it('offers multi-character tokens, never empty special tokens, and EOS only when complete', () => {
    const c = JsonConstraint.forSchema(schema, vocab);
    expect(allowed(c)).toEqual(['{']);
    c.accept(id('{'));
    expect(allowed(c)).toEqual(['"', '"a":1}']);
    c.accept(id('"a":1}'));
    expect(c.isComplete()).toBe(true);
    expect(allowed(c)).toEqual(['<eos>']);
    c.accept(id('<eos>'));
    expect(allowed(c)).toEqual([]);
  });

  it('lets a number end or grow, with EOS allowed meanwhile', () => {
    const c = JsonConstraint.forSchema({ type: 'integer' }, vocab);
    c.accept(id('1'));
    expect(c.canEnd()).toBe(true);
    expect(c.isComplete()).toBe(false);
    expect(allowed(c)).toEqual(['1', '2', '<eos>']);
  });

  it('refuses a token its mask did not allow', () => {
    const c = JsonConstraint.forSchema(schema, vocab);
    expect(() => c.accept(id('}'))).toThrow(/not allowed/);
    expect(() => c.accept(id('<eos>'))).toThrow(/not allowed/);
  });

  it('turns a mask into an additive bias over a padded logits width', () => {
    const c = JsonConstraint.forSchema(schema, vocab);
    const bias = toLogitsMask(c.allowedTokens(), pieces.length + 3);
    expect(bias.length).toBe(pieces.length + 3);
    expect([...bias].map((b, i) => (b === 0 ? i : -1)).filter((i) => i >= 0)).toEqual([id('{')]);
    expect(bias[pieces.length + 2]).toBe(-Infinity);
  });
});
