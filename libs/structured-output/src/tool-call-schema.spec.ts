import Ajv from 'ajv';
import { ToolChoiceError, UnsupportedSchemaError } from './errors';
import { compileSchema } from './grammar';
import { FunctionTool, forcedToolCallSchema, parseForcedToolCalls } from './tool-call-schema';

const weather: FunctionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: {
      type: 'object',
      properties: { place: { $ref: '#/$defs/place' } },
      required: ['place'],
      additionalProperties: false,
      $defs: { place: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
    },
  },
};
const ping: FunctionTool = { type: 'function', function: { name: 'ping' } };

describe('forcedToolCallSchema', () => {
  const ajv = new Ajv({ strict: false });

  it('forces one named function with its own parameters, refs re-rooted', () => {
    const validate = ajv.compile(
      forcedToolCallSchema([weather, ping], { type: 'function', function: { name: 'get_weather' } }, { parallel: false }),
    );
    expect(validate({ name: 'get_weather', arguments: { place: { city: 'Oslo' } } })).toBe(true);
    expect(validate({ name: 'get_weather', arguments: { place: {} } })).toBe(false);
    expect(validate({ name: 'ping', arguments: {} })).toBe(false);
  });

  it("under 'required' ties each name to its own arguments", () => {
    const validate = ajv.compile(forcedToolCallSchema([weather, ping], 'required', { parallel: false }));
    expect(validate({ name: 'ping', arguments: {} })).toBe(true);
    expect(validate({ name: 'ping', arguments: { place: { city: 'Oslo' } } })).toBe(false);
    expect(validate({ name: 'get_weather', arguments: {} })).toBe(false);
  });

  it('allows one or more calls when parallel calls are on', () => {
    const schema = forcedToolCallSchema([weather, ping], 'required', { parallel: true });
    const validate = ajv.compile(schema);
    expect(validate([{ name: 'ping', arguments: {} }, { name: 'ping', arguments: {} }])).toBe(true);
    expect(validate([])).toBe(false);
    expect(() => compileSchema(schema)).not.toThrow();
  });

  it('rejects a choice the tools do not declare', () => {
    expect(() => forcedToolCallSchema([ping], { type: 'function', function: { name: 'nope' } }, { parallel: false })).toThrow(
      ToolChoiceError,
    );
    expect(() => forcedToolCallSchema([], 'required', { parallel: false })).toThrow(ToolChoiceError);
  });

  it('points unsupported parameter schemas at the request field', () => {
    const bad: FunctionTool = {
      type: 'function',
      function: { name: 'bad', parameters: { type: 'object', properties: { at: { type: 'string', format: 'uri' } } } },
    };
    let error: unknown;
    try {
      forcedToolCallSchema([ping, bad], 'required', { parallel: false });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsupportedSchemaError);
    expect((error as UnsupportedSchemaError).pointer).toBe('/tools/1/function/parameters/properties/at/format');
  });

  it('reads calls back from a forced output, one or many', () => {
    expect(parseForcedToolCalls('{"name":"ping","arguments":{}}')).toEqual([{ name: 'ping', arguments: '{}' }]);
    expect(parseForcedToolCalls('[{"name":"a","arguments":{"x": 1}}, {"name":"b","arguments":{}}]')).toEqual([
      { name: 'a', arguments: '{"x":1}' },
      { name: 'b', arguments: '{}' },
    ]);
    expect(() => parseForcedToolCalls('{"name":"a"}')).toThrow(TypeError);
  });
});
