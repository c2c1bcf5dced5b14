import { UnsupportedSchemaError } from './errors';
import { assertSupportedSchema, compileSchema } from './grammar';

function pointerOf(schema: unknown): string {
  try {
    compileSchema(schema);
  } catch (error) {
    if (error instanceof UnsupportedSchemaError) {
      return error.pointer;
    }
    throw error;
  }
  throw new Error('schema compiled');
}

describe('compileSchema', () => {
  it.each([
    [{ type: 'string', pattern: '^(a)\\1$' }, '/pattern'],
    [{ type: 'string', pattern: '(?=a)b' }, '/pattern'],
    [{ type: 'string', pattern: '[z-a]' }, '/pattern'],
    [{ type: 'string', format: 'uri' }, '/format'],
    [{ type: 'string', format: 'date', maxLength: 4 }, '/maxLength'],
    [{ type: 'object', properties: { 'a/b': { type: 'number', multipleOf: 2 } } }, '/properties/a~1b/multipleOf'],
    [{ type: 'array', items: [{ type: 'string' }] }, '/items'],
    [{ oneOf: [{ type: 'string' }] }, '/oneOf'],
    [{ allOf: [{ type: 'string' }, { maxLength: 2 }] }, '/allOf'],
    [{ anyOf: [{ type: 'string' }, { type: 'date' }] }, '/anyOf/1/type'],
    [{ type: 'object', properties: { a: { $ref: '#/$defs/missing' } } }, '/properties/a/$ref'],
    [{ $ref: 'https://example.com/schema' }, '/$ref'],
    [{ $defs: { x: { not: {} } }, $ref: '#/$defs/x' }, '/$defs/x/not'],
    [{ $ref: '#/$defs/x', type: 'string', $defs: { x: {} } }, '/type'],
    [{ type: 'string', minLength: 3, maxLength: 2 }, '/minLength'],
    [{ type: 'integer', minimum: 5, exclusiveMaximum: 5 }, '/minimum'],
    [{ type: 'string', enum: [1, 2] }, '/enum'],
    [{ type: 'object', required: ['a'], additionalProperties: false }, '/required'],
    [false, ''],
    [{ $ref: '#' }, '/$ref'],
    [{ $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' }, '/$ref'],
  ])('refuses %j, pointing at %s', (schema, pointer) => {
    expect(pointerOf(schema)).toBe(pointer);
  });

  it('names the construct in the message', () => {
    expect(() => assertSupportedSchema({ type: 'string', format: 'uri' })).toThrow(
      `unsupported JSON schema construct at '/format': format "uri" is not supported (supported: date-time, date, time, uuid, email, ipv4)`,
    );
  });

  it.each([
    [{}],
    [true],
    [{ type: 'object', title: 'T', description: 'd', properties: { a: { type: 'string', default: 'x' } } }],
    [{ type: ['string', 'null'] }],
    [{ allOf: [{ $ref: '#/definitions/a' }], definitions: { a: { type: 'boolean' } } }],
    [{ $defs: { list: { type: 'array', items: { $ref: '#/$defs/list' } } }, $ref: '#/$defs/list' }],
  ])('compiles %j', (schema) => {
    expect(() => compileSchema(schema)).not.toThrow();
  });
});
