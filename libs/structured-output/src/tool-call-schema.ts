import { ToolChoiceError, UnsupportedSchemaError } from './errors';
import { compileSchema } from './grammar';

/** The part of an OpenAI `tools[]` entry this module reads. */
export interface FunctionTool {
  readonly type: 'function';
  readonly function: {
    readonly name: string;
    readonly parameters?: Record<string, unknown>;
  };
}

/** The `tool_choice` values that oblige the model to call a tool. */
export type ForcedToolChoice = 'required' | { readonly type: 'function'; readonly function: { readonly name: string } };

export interface ForcedToolCallOptions {
  /** `parallel_tool_calls`: emit an array of one or more calls instead of exactly one. */
  readonly parallel: boolean;
}

/** OpenAI's meaning of a function declared without parameters: it takes none. */
const NO_PARAMETERS = { type: 'object', properties: {}, additionalProperties: false };

/**
 * The JSON Schema of a forced call, `{"name": ..., "arguments": {...}}` (or an array of them),
 * to run through JsonConstraint. Each tool becomes its own alternative so the arguments always
 * match the schema of the name that precedes them. Each tool's parameters are embedded whole
 * under `$defs` and its local `$ref`s re-rooted there, so `#/$defs/...` inside a tool still
 * resolves.
 *
 * @throws ToolChoiceError when the choice names an undeclared function or there are no tools.
 * @throws UnsupportedSchemaError with a pointer into the request (`/tools/2/function/parameters/...`).
 */
export function forcedToolCallSchema(
  tools: readonly FunctionTool[],
  toolChoice: ForcedToolChoice,
  options: ForcedToolCallOptions,
): Record<string, unknown> {
  const chosen = tools
    .map((tool, index) => ({ tool, index }))
    .filter(({ tool }) => toolChoice === 'required' || tool.function.name === toolChoice.function.name);
  if (chosen.length === 0) {
    throw new ToolChoiceError(
      toolChoice === 'required'
        ? "tool_choice 'required' needs at least one tool"
        : `tool_choice names function '${toolChoice.function.name}', which tools does not declare`,
    );
  }

  const defs: Record<string, unknown> = {};
  const calls = chosen.map(({ tool, index }) => {
    const parameters = tool.function.parameters ?? NO_PARAMETERS;
    try {
      compileSchema(parameters);
    } catch (error) {
      if (error instanceof UnsupportedSchemaError) {
        throw new UnsupportedSchemaError(`/tools/${index}/function/parameters${error.pointer}`, error.reason);
      }
      throw error;
    }
    const def = `tool_${index}`;
    defs[def] = rerootRefs(parameters, `#/$defs/${def}`);
    return {
      type: 'object',
      properties: { name: { const: tool.function.name }, arguments: { $ref: `#/$defs/${def}` } },
      required: ['name', 'arguments'],
      additionalProperties: false,
    };
  });
  const call = calls.length === 1 ? calls[0] : { anyOf: calls };
  const root = options.parallel ? { type: 'array', items: call, minItems: 1 } : call;
  return { ...root, $defs: defs };
}

/** Keywords whose values are instances, not schemas: a `$ref` key inside them is data. */
const INSTANCE_KEYWORDS = new Set(['const', 'enum', 'default', 'examples']);

function rerootRefs(schema: unknown, base: string): unknown {
  if (Array.isArray(schema)) {
    return schema.map((s) => rerootRefs(s, base));
  }
  if (typeof schema !== 'object' || schema === null) {
    return schema;
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#')) {
      out[key] = base + value.slice(1);
    } else {
      out[key] = INSTANCE_KEYWORDS.has(key) ? value : rerootRefs(value, base);
    }
  }
  return out;
}

/** A call read back from a forced-call output, `arguments` as the JSON text OpenAI sends. */
export interface ForcedToolCall {
  readonly name: string;
  readonly arguments: string;
}

/**
 * The calls in a complete output produced under `forcedToolCallSchema`. The constraint
 * guarantees the shape, so anything else is a caller bug and throws.
 */
export function parseForcedToolCalls(output: string): ForcedToolCall[] {
  const value: unknown = JSON.parse(output);
  const calls = Array.isArray(value) ? value : [value];
  return calls.map((call: unknown) => {
    const { name, arguments: args } = (call ?? {}) as { name?: unknown; arguments?: unknown };
    if (typeof name !== 'string' || typeof args !== 'object' || args === null) {
      throw new TypeError(`not a forced tool call: ${output.slice(0, 200)}`);
    }
    return { name, arguments: JSON.stringify(args) };
  });
}
