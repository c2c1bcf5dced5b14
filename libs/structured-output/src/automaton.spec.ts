import { canEnd, initialStates, isComplete, stepBytes } from './automaton';
import { compileSchema, ConstraintLimits, DEFAULT_LIMITS } from './grammar';

const utf8 = new TextEncoder();

function reads(
  schema: unknown,
  text: string | Uint8Array,
  limits: Partial<ConstraintLimits> = {},
): 'complete' | 'prefix' | 'rejected' {
  const bytes = typeof text === 'string' ? utf8.encode(text) : text;
  const states = stepBytes(initialStates(compileSchema(schema, { ...DEFAULT_LIMITS, ...limits })), bytes);
  if (states.length === 0) {
    return 'rejected';
  }
  return canEnd(states) ? 'complete' : 'prefix';
}

describe('character automaton', () => {
  const person = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      age: { type: 'integer' },
      tags: { type: 'array', items: { type: 'string' } },
    },
    required: ['name', 'age'],
    additionalProperties: false,
  };

  it.each([
    ['{"name":"Ann","age":3}', 'complete'],
    ['{"name": "Ann", "age": 3, "tags": ["a", "b"]}', 'complete'],
    ['{"name":"Ann","age":3,"tags":[]}', 'complete'],
    ['{"name":"Ann","age":3', 'prefix'],
    ['{"name":"Ann"}', 'rejected'], // a required member is missing
    ['{"age":3,"name":"Ann"}', 'rejected'], // members follow the schema order
    ['{"name":"Ann","age":3,"extra":1}', 'rejected'],
    ['{ "name":"Ann","age":3}', 'rejected'], // no space after '{'
    ['{"name":  "Ann","age":3}', 'rejected'], // at most one space after ':'
    ['{"name":"Ann","age":3,}', 'rejected'],
    ['{"name":"Ann","age":3.5}', 'rejected'],
    ['{"name":"Ann","age":03}', 'rejected'],
    ['{"name":"Ann","age":3}\n', 'rejected'],
  ])('reads %s as %s', (text, expected) => {
    expect(reads(person, text)).toBe(expected);
  });

  it('skips optional members but never a required one', () => {
    const schema = {
      type: 'object',
      properties: { a: { type: 'boolean' }, b: { type: 'null' }, c: { const: 1 } },
      required: ['c'],
    };
    expect(reads(schema, '{"c":1}')).toBe('complete');
    expect(reads(schema, '{"b":null,"c":1}')).toBe('complete');
    expect(reads(schema, '{"a":true,"c":1}')).toBe('complete');
    expect(reads(schema, '{"a":true}')).toBe('rejected');
    expect(reads(schema, '{"a":true,"b":null}')).toBe('rejected');
  });

  it('reads string escapes and refuses raw control characters and surrogate escapes', () => {
    const s = { type: 'string' };
    expect(reads(s, '"a\\"b\\\\c\\/\\n\\u00e9"')).toBe('complete');
    expect(reads(s, '"a\nb"')).toBe('rejected');
    expect(reads(s, '"\\x"')).toBe('rejected');
    expect(reads(s, '"\\ud83d"')).toBe('rejected');
    expect(reads(s, '"\\uD7FF"')).toBe('complete');
    expect(reads(s, '"é😀"')).toBe('complete');
  });

  it('accepts only well-formed UTF-8, byte by byte', () => {
    const s = { type: 'string' };
    const quoted = (...bytes: number[]) => Uint8Array.of(0x22, ...bytes, 0x22);
    expect(reads(s, quoted(0xf0, 0x9f, 0x98, 0x80))).toBe('complete'); // U+1F600
    expect(reads(s, Uint8Array.of(0x22, 0xf0, 0x9f))).toBe('prefix');
    expect(reads(s, quoted(0xf0, 0x9f))).toBe('rejected'); // cut short by the quote
    expect(reads(s, quoted(0x80))).toBe('rejected'); // stray continuation byte
    expect(reads(s, quoted(0xc0, 0x80))).toBe('rejected'); // overlong NUL
    expect(reads(s, quoted(0xed, 0xa0, 0x80))).toBe('rejected'); // UTF-16 surrogate
    expect(reads(s, quoted(0xf4, 0x90, 0x80, 0x80))).toBe('rejected'); // above U+10FFFF
    expect(reads({ enum: ['é'] }, quoted(0xc3, 0xa9))).toBe('complete');
  });

  it('counts string length in characters, an escape being one', () => {
    const s = { type: 'string', minLength: 2, maxLength: 3 };
    expect(reads(s, '"a"')).toBe('rejected');
    expect(reads(s, '"ab"')).toBe('complete');
    expect(reads(s, '"\\n😀\\u0041"')).toBe('complete');
    expect(reads(s, '"abcd')).toBe('rejected');
  });

  it('bounds free strings by the limit', () => {
    expect(reads({ type: 'string' }, `"${'x'.repeat(5)}"`, { maxStringLength: 5 })).toBe('complete');
    expect(reads({ type: 'string' }, `"${'x'.repeat(6)}`, { maxStringLength: 5 })).toBe('rejected');
  });

  it.each([
    [{ type: 'integer' }, '-12', 'complete'],
    [{ type: 'integer' }, '-', 'prefix'],
    [{ type: 'integer' }, '1e5', 'rejected'],
    [{ type: 'number' }, '0.25', 'complete'],
    [{ type: 'number' }, '1.', 'prefix'],
    [{ type: 'number' }, '.5', 'rejected'],
    [{ type: 'integer', minimum: 10, maximum: 20 }, '1', 'prefix'],
    [{ type: 'integer', minimum: 10, maximum: 20 }, '15', 'complete'],
    [{ type: 'integer', minimum: 10, maximum: 20 }, '21', 'rejected'],
    [{ type: 'integer', minimum: 10, maximum: 20 }, '3', 'rejected'],
    [{ type: 'integer', minimum: 10, maximum: 20 }, '-', 'rejected'],
    [{ type: 'integer', minimum: 0 }, '-0', 'complete'],
    [{ type: 'number', exclusiveMinimum: 0, maximum: 1 }, '0', 'prefix'],
    [{ type: 'number', exclusiveMinimum: 0, maximum: 1 }, '0.0', 'prefix'],
    [{ type: 'number', exclusiveMinimum: 0, maximum: 1 }, '0.01', 'complete'],
    [{ type: 'number', exclusiveMinimum: 0, maximum: 1 }, '1.5', 'rejected'],
    [{ type: 'number', minimum: -2.5, maximum: -1 }, '-2.6', 'rejected'],
    [{ type: 'number', minimum: -2.5, maximum: -1 }, '-2.5', 'complete'],
    [{ type: 'number', exclusiveMaximum: 5 }, '4.9', 'complete'],
    [{ type: 'number', exclusiveMaximum: 5 }, '5', 'rejected'],
  ])('reads number schema %j text %s as %s', (schema, text, expected) => {
    expect(reads(schema, text)).toBe(expected);
  });

  it('caps digits', () => {
    const limits = { maxIntegerDigits: 3, maxFractionDigits: 2 };
    expect(reads({ type: 'number' }, '123.45', limits)).toBe('complete');
    expect(reads({ type: 'number' }, '1234', limits)).toBe('rejected');
    expect(reads({ type: 'number' }, '1.234', limits)).toBe('rejected');
  });

  it('matches enums and consts of any JSON exactly', () => {
    const schema = { enum: ['a', 1, { x: [true] }, null] };
    for (const value of ['"a"', '1', '{"x":[true]}', 'null']) {
      expect(reads(schema, value)).toBe('complete');
    }
    expect(reads(schema, '{"x": [true]}')).toBe('rejected');
    expect(reads(schema, '"b"')).toBe('rejected');
    expect(reads({ type: 'string', enum: ['a', 1] }, '1')).toBe('rejected');
  });

  it('runs anyOf alternatives side by side until one wins', () => {
    const schema = {
      anyOf: [
        { type: 'object', properties: { kind: { const: 'a' }, n: { type: 'integer' } }, required: ['kind', 'n'] },
        { type: 'object', properties: { kind: { const: 'b' }, s: { type: 'string' } }, required: ['kind', 's'] },
        { type: 'null' },
      ],
    };
    expect(reads(schema, '{"kind":"a","n":1}')).toBe('complete');
    expect(reads(schema, '{"kind":"b","s":"x"}')).toBe('complete');
    expect(reads(schema, '{"kind":"a","s":"x"}')).toBe('rejected');
    expect(reads(schema, 'null')).toBe('complete');
  });

  it('follows recursive $ref and stops at the depth limit', () => {
    const tree = {
      $defs: {
        node: {
          type: 'object',
          properties: { v: { type: 'integer' }, kids: { type: 'array', items: { $ref: '#/$defs/node' } } },
          required: ['v', 'kids'],
          additionalProperties: false,
        },
      },
      $ref: '#/$defs/node',
    };
    expect(reads(tree, '{"v":1,"kids":[{"v":2,"kids":[]}]}')).toBe('complete');
    // Depth counts every object and array: level 1 object, 2 array, 3 object, 4 array, 5 object.
    expect(reads(tree, '{"v":1,"kids":[{"v":2,"kids":[{', { maxDepth: 4 })).toBe('rejected');
    expect(reads(tree, '{"v":1,"kids":[{"v":2,"kids":[{', { maxDepth: 5 })).toBe('prefix');
  });

  it('survives left recursion through anyOf', () => {
    const schema = { $defs: { v: { anyOf: [{ $ref: '#/$defs/v' }, { type: 'string' }] } }, $ref: '#/$defs/v' };
    expect(reads(schema, '"x"')).toBe('complete');
    expect(reads(schema, '1')).toBe('rejected');
  });

  it('bounds arrays by minItems/maxItems', () => {
    const schema = { type: 'array', items: { type: 'integer' }, minItems: 1, maxItems: 2 };
    expect(reads(schema, '[]')).toBe('rejected');
    expect(reads(schema, '[1, 2]')).toBe('complete');
    expect(reads(schema, '[1,2,')).toBe('rejected');
  });

  it('reads free objects with typed values (map types) and any JSON under json_object', () => {
    const map = { type: 'object', additionalProperties: { type: 'integer' } };
    expect(reads(map, '{"a":1,"b":2}')).toBe('complete');
    expect(reads(map, '{"a":"x"}')).toBe('rejected');
    expect(reads({ type: 'object' }, '{"a":[1,{"b":null}],"c":"d","e":-0.5,"f":false}')).toBe('complete');
    expect(reads({ type: 'object' }, '{"a":[1,2,3]}', { maxArrayItems: 2 })).toBe('rejected');
  });

  it('knows when nothing but the end can follow', () => {
    const states = (schema: unknown, text: string) => stepBytes(initialStates(compileSchema(schema)), utf8.encode(text));
    expect(isComplete(states({ type: 'object' }, '{}'))).toBe(true);
    expect(isComplete(states({ type: 'integer' }, '12'))).toBe(false);
    expect(canEnd(states({ type: 'integer' }, '12'))).toBe(true);
    expect(isComplete(states({ enum: ['a', 'ab'] }, '"a"'))).toBe(true);
  });
});
