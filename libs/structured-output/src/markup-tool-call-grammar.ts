import { ToolChoiceError, UnsupportedSchemaError } from './errors';
import { compileSchema, DEFAULT_LIMITS, rawLiteralNode, type ConstraintLimits, type GrammarNode, type SequenceNode } from './grammar';
import type { ForcedToolCallOptions, ForcedToolChoice, FunctionTool } from './tool-call-schema';

/**
 * A tool-call format that writes each argument as a tagged bare value rather than JSON: what
 * surrounds the call, each argument, and what ends a value (which a text value may not contain).
 */
export interface MarkupCallFormat {
  readonly open: (name: string) => string;
  readonly argumentOpen: (name: string) => string;
  /** Ends a value; the closing of the argument starts with it. */
  readonly valueEnd: string;
  readonly argumentClose: string;
  readonly close: string;
  /** Between calls when several are made. */
  readonly separator: string;
}

/** Qwen3-Coder's calls, spelled as its chat template teaches them. */
export const QWEN3_CODER_CALLS: MarkupCallFormat = {
  open: (name) => `<tool_call>\n<function=${name}>\n`,
  argumentOpen: (name) => `<parameter=${name}>\n`,
  valueEnd: '\n</parameter>',
  argumentClose: '\n</parameter>\n',
  close: '</function>\n</tool_call>',
  separator: '\n',
};

/** GLM-4.5's calls, as its chat template renders them. */
export const GLM45_CALLS: MarkupCallFormat = {
  open: (name) => `<tool_call>${name}\n`,
  argumentOpen: (name) => `<arg_key>${name}</arg_key>\n<arg_value>`,
  valueEnd: '</arg_value>',
  argumentClose: '</arg_value>\n',
  close: '</tool_call>',
  separator: '\n',
};

/** Parallel calls written in one forced answer, at most. */
const MAX_CALLS = 4;

type Schema = Record<string, unknown>;

function isObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A string argument is bare text; an enum of strings its listed texts; anything else the JSON of
 * its schema (numbers, booleans, arrays, objects), which the parsers read back by the same schema.
 */
function valueNode(schema: unknown, format: MarkupCallFormat, pointer: string, limits: ConstraintLimits): GrammarNode {
  if (isObject(schema) && Array.isArray(schema['enum']) && schema['enum'].length > 0 && schema['enum'].every((v) => typeof v === 'string')) {
    return rawLiteralNode(schema['enum'] as string[]);
  }
  if (isObject(schema) && schema['type'] === 'string') {
    if ('pattern' in schema || 'format' in schema || 'minLength' in schema) {
      throw new UnsupportedSchemaError(`${pointer}`, 'a constrained string argument cannot be enforced in this markup format');
    }
    const maxLength = typeof schema['maxLength'] === 'number' ? schema['maxLength'] : limits.maxStringLength;
    return { kind: 'text', terminator: format.valueEnd, maxLength };
  }
  try {
    return compileSchema(schema, limits);
  } catch (error) {
    if (error instanceof UnsupportedSchemaError) {
      throw new UnsupportedSchemaError(`${pointer}${error.pointer}`, error.reason);
    }
    throw error;
  }
}

function callNode(tool: FunctionTool, index: number, format: MarkupCallFormat, limits: ConstraintLimits): SequenceNode {
  const parameters: unknown = tool.function.parameters ?? { type: 'object', properties: {} };
  const pointer = `/tools/${index}/function/parameters`;
  if (!isObject(parameters) || JSON.stringify(parameters).includes('"$ref"')) {
    throw new UnsupportedSchemaError(pointer, 'parameters with $ref cannot be enforced in this markup format');
  }
  const properties = isObject(parameters['properties']) ? parameters['properties'] : {};
  const required = Array.isArray(parameters['required']) ? (parameters['required'] as unknown[]) : [];
  const missing = required.find((name) => typeof name !== 'string' || !(name in properties));
  if (missing !== undefined) {
    throw new UnsupportedSchemaError(`${pointer}/required`, `'${String(missing)}' is required but not declared`);
  }
  // Declared arguments in order, the optional ones skippable, as the JSON forced call does.
  const argumentsInOrder = Object.entries(properties).map(([name, schema]) => ({
    node: {
      kind: 'sequence',
      items: [
        { node: rawLiteralNode([format.argumentOpen(name)]), optional: false },
        { node: valueNode(schema, format, `${pointer}/properties/${name}`, limits), optional: false },
        { node: rawLiteralNode([format.argumentClose]), optional: false },
      ],
    } satisfies SequenceNode,
    optional: !required.includes(name),
  }));
  return {
    kind: 'sequence',
    items: [{ node: rawLiteralNode([format.open(tool.function.name)]), optional: false }, ...argumentsInOrder, { node: rawLiteralNode([format.close]), optional: false }],
  };
}

/**
 * The grammar of a forced call (or, with `parallel`, up to four calls) in a markup format, so
 * `tool_choice` required/named makes the model write calls the way it was trained to.
 *
 * @throws ToolChoiceError when the choice names an undeclared function or there are no tools.
 * @throws UnsupportedSchemaError when an argument's schema cannot be enforced in the format (the
 *   caller may fall back to the JSON form of the call).
 */
export function forcedMarkupCallGrammar(
  tools: readonly FunctionTool[],
  toolChoice: ForcedToolChoice,
  options: ForcedToolCallOptions,
  format: MarkupCallFormat,
  limits: ConstraintLimits = DEFAULT_LIMITS,
): GrammarNode {
  const chosen = tools
    .map((tool, index) => ({ tool, index }))
    .filter(({ tool }) => toolChoice === 'required' || tool.function.name === toolChoice.function.name);
  if (chosen.length === 0) {
    throw new ToolChoiceError(toolChoice === 'required' ? "tool_choice 'required' needs at least one tool" : `tool_choice names function '${toolChoice.function.name}', which tools does not declare`);
  }
  const calls = chosen.map(({ tool, index }) => callNode(tool, index, format, limits));
  const call: GrammarNode = calls.length === 1 ? calls[0] : { kind: 'anyOf', options: calls };
  if (!options.parallel) {
    return call;
  }
  // call (separator call)^0..MAX_CALLS-1, built from the last optional tail inwards.
  let tail: SequenceNode | undefined;
  for (let i = 1; i < MAX_CALLS; i++) {
    tail = {
      kind: 'sequence',
      items: [{ node: rawLiteralNode([format.separator]), optional: false }, { node: call, optional: false }, ...(tail ? [{ node: tail, optional: true }] : [])],
    };
  }
  return { kind: 'sequence', items: [{ node: call, optional: false }, ...(tail ? [{ node: tail, optional: true }] : [])] };
}
