import { parseJsonOrUndefined } from './tool-call-parser';

/** A tool's JSON schema for its parameters, as the request declared it. */
export type ParameterSchema = Readonly<Record<string, unknown>> | undefined;

function declaredTypes(schema: ParameterSchema, name: string): string[] {
  const properties = schema?.['properties'];
  const property = typeof properties === 'object' && properties !== null ? (properties as Record<string, unknown>)[name] : undefined;
  if (typeof property !== 'object' || property === null) {
    return [];
  }
  const type = (property as Record<string, unknown>)['type'];
  if (typeof type === 'string') {
    return [type];
  }
  if (Array.isArray(type)) {
    return type.filter((t): t is string => typeof t === 'string');
  }
  // An enum or const without a type: its values say what it is.
  const values = (property as Record<string, unknown>)['enum'];
  return Array.isArray(values) && values.every((v) => typeof v === 'string') ? ['string'] : [];
}

/**
 * One argument written as bare text (Qwen3-Coder's `<parameter=p>`, GLM's `<arg_value>`), typed
 * by the tool's schema as vLLM's and mlx-lm's parsers do: a string stays text, numbers and
 * booleans are read as such, objects and arrays as JSON. A value that does not read as its type,
 * or one the schema does not declare, is JSON when it parses and text otherwise.
 */
export function typedArgument(text: string, schema: ParameterSchema, name: string): unknown {
  const types = declaredTypes(schema, name);
  if (types.includes('string')) {
    return text;
  }
  const trimmed = text.trim();
  if (types.includes('null') && trimmed.toLowerCase() === 'null') {
    return null;
  }
  if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(trimmed)) {
    const value = Number(trimmed);
    return types.includes('number') || Number.isInteger(value) ? value : text;
  }
  if (types.includes('boolean') && /^(true|false)$/i.test(trimmed)) {
    return trimmed.toLowerCase() === 'true';
  }
  const parsed = parseJsonOrUndefined(trimmed);
  return parsed === undefined ? text : parsed;
}

/** Every argument of a call typed by its tool's schema; the result is the call's JSON arguments object. */
export function typedArguments(values: ReadonlyArray<readonly [string, string]>, schema: ParameterSchema): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const [name, text] of values) {
    args[name] = typedArgument(text, schema, name);
  }
  return args;
}
