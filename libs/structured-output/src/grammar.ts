import { UnsupportedSchemaError } from './errors';
import { compilePattern, FORMAT_PATTERNS, minCharsToAccept, PatternSyntaxError, type CharPattern } from './pattern';

/**
 * Bounds that make every constrained output finite. A model with random weights picks among
 * the allowed tokens blindly; without these caps a string, a digit run or an array could go on
 * until `max_tokens`. With them the longest possible output is bounded by the schema alone.
 */
export interface ConstraintLimits {
  /** Characters in a string that has no smaller `maxLength` (escapes count as one character). */
  maxStringLength: number;
  /** Characters in a key of an object whose keys are free (json_object mode, map types). */
  maxKeyLength: number;
  /** Digits before the decimal point; 15 keeps every integer exactly representable as a double. */
  maxIntegerDigits: number;
  /** Digits after the decimal point. */
  maxFractionDigits: number;
  /** Items in an array that has no smaller `maxItems`. */
  maxArrayItems: number;
  /** Members of an object whose keys are free. */
  maxObjectProperties: number;
  /** Nesting of objects and arrays; a container that would go deeper is not offered. */
  maxDepth: number;
}

export const DEFAULT_LIMITS: Readonly<ConstraintLimits> = Object.freeze({
  maxStringLength: 4096,
  maxKeyLength: 64,
  maxIntegerDigits: 15,
  maxFractionDigits: 10,
  maxArrayItems: 1024,
  maxObjectProperties: 256,
  maxDepth: 20,
});

const UTF8 = new TextEncoder();

/** A byte trie over the UTF-8 of a finite set of literal JSON texts; `payload` is the index of the text ending here, or -1. */
export interface LiteralTrie {
  readonly children: Map<number, LiteralTrie>;
  payload: number;
}

export interface ObjectProperty {
  readonly name: string;
  readonly node: GrammarNode;
  readonly required: boolean;
}

export interface ObjectNode {
  readonly kind: 'object';
  /** Declared members, emitted in this order (optional ones may be skipped), as OpenAI's strict mode does. */
  readonly props: readonly ObjectProperty[];
  /** Grammar of free keys and their values; null when only `props` may appear. */
  readonly free: { readonly key: StringNode; readonly value: GrammarNode; readonly maxMembers: number } | null;
  /** Deepest stack level at which this object may open. */
  readonly maxDepth: number;
  /** keyTries[i]: the quoted keys that may come next once members before i are settled (built on first use). */
  readonly keyTries: (LiteralTrie | undefined)[];
}

export interface ArrayNode {
  readonly kind: 'array';
  readonly item: GrammarNode;
  readonly minItems: number;
  readonly maxItems: number;
  /** Deepest stack level at which this array may open. */
  readonly maxDepth: number;
}

export interface StringNode {
  readonly kind: 'string';
  readonly minLength: number;
  readonly maxLength: number;
  /** `pattern` and `format` as automata the decoded characters must all match (empty: free text). */
  readonly patterns: readonly CharPattern[];
}

export interface NumberBound {
  readonly value: number;
  readonly exclusive: boolean;
}

export interface NumberNode {
  readonly kind: 'number';
  readonly integer: boolean;
  readonly lower: NumberBound | null;
  readonly upper: NumberBound | null;
  readonly maxIntegerDigits: number;
  readonly maxFractionDigits: number;
}

export interface LiteralNode {
  readonly kind: 'literal';
  readonly trie: LiteralTrie;
}

export interface AnyOfNode {
  readonly kind: 'anyOf';
  readonly options: GrammarNode[];
}

/** Indirection for `$ref`, so recursive definitions compile to a cyclic graph instead of recursing forever. */
export interface RefNode {
  readonly kind: 'ref';
  target: GrammarNode | null;
}

/** Items read one after another; an optional item may be skipped (markup formats: tags around values). */
export interface SequenceNode {
  readonly kind: 'sequence';
  readonly items: ReadonlyArray<{ readonly node: GrammarNode; readonly optional: boolean }>;
}

/**
 * Bare text (well-formed UTF-8, tabs and newlines allowed, no other control characters) of 1 to
 * `maxLength` characters that never contains `terminator`: the value of an XML-style tool-call
 * argument, which its closing tag ends.
 */
export interface TextNode {
  readonly kind: 'text';
  readonly terminator: string;
  readonly maxLength: number;
}

export type GrammarNode = ObjectNode | ArrayNode | StringNode | NumberNode | LiteralNode | AnyOfNode | RefNode | SequenceNode | TextNode;

/** Exactly these texts, written as they are (not as JSON strings). */
export function rawLiteralNode(texts: readonly string[]): LiteralNode {
  return { kind: 'literal', trie: buildLiteralTrie(texts) };
}

/** Builds the trie; an undefined entry keeps its index unused so payloads can mirror another list's indices. */
export function buildLiteralTrie(texts: readonly (string | undefined)[]): LiteralTrie {
  const root: LiteralTrie = { children: new Map(), payload: -1 };
  texts.forEach((text, index) => {
    if (text === undefined) {
      return;
    }
    let node = root;
    for (const byte of UTF8.encode(text)) {
      let next = node.children.get(byte);
      if (!next) {
        next = { children: new Map(), payload: -1 };
        node.children.set(byte, next);
      }
      node = next;
    }
    node.payload = index;
  });
  return root;
}

/** The trie of keys allowed at member position `index`: every member up to and including the next required one. */
export function keyTrieAt(node: ObjectNode, index: number): LiteralTrie {
  let trie = node.keyTries[index];
  if (!trie) {
    const texts: (string | undefined)[] = new Array<undefined>(index).fill(undefined);
    for (let i = index; i < node.props.length; i++) {
      texts[i] = JSON.stringify(node.props[i].name);
      if (node.props[i].required) {
        break;
      }
    }
    trie = buildLiteralTrie(texts);
    node.keyTries[index] = trie;
  }
  return trie;
}

export function literalNode(values: readonly unknown[]): LiteralNode {
  return { kind: 'literal', trie: buildLiteralTrie(values.map((v) => JSON.stringify(v))) };
}

/** Any JSON value, within the limits: the grammar of `json_object` members and of schemas with no constraint. */
export function anyValueNode(limits: ConstraintLimits): GrammarNode {
  const any: AnyOfNode = { kind: 'anyOf', options: [] };
  any.options.push(
    anyObjectNode(any, limits),
    { kind: 'array', item: any, minItems: 0, maxItems: limits.maxArrayItems, maxDepth: limits.maxDepth },
    { kind: 'string', minLength: 0, maxLength: limits.maxStringLength, patterns: [] },
    freeNumber(false, limits),
    literalNode([true, false, null]),
  );
  return any;
}

export function anyObjectNode(value: GrammarNode, limits: ConstraintLimits): ObjectNode {
  return { kind: 'object', props: [], free: freeMembers(value, limits), maxDepth: limits.maxDepth, keyTries: [] };
}

function freeMembers(value: GrammarNode, limits: ConstraintLimits): ObjectNode['free'] {
  return {
    key: { kind: 'string', minLength: 0, maxLength: limits.maxKeyLength, patterns: [] },
    value,
    maxMembers: limits.maxObjectProperties,
  };
}

function freeNumber(integer: boolean, limits: ConstraintLimits): NumberNode {
  return {
    kind: 'number',
    integer,
    lower: null,
    upper: null,
    maxIntegerDigits: limits.maxIntegerDigits,
    maxFractionDigits: limits.maxFractionDigits,
  };
}

/** Keywords that only describe; they never change which instances validate. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'examples',
  '$comment',
  '$schema',
  '$id',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$defs',
  'definitions',
]);

const TYPE_KEYWORDS: Record<string, readonly string[]> = {
  object: ['properties', 'required', 'additionalProperties'],
  array: ['items', 'minItems', 'maxItems'],
  string: ['minLength', 'maxLength', 'pattern', 'format'],
  number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  boolean: [],
  null: [],
};

const SUPPORTED = new Set([
  ...ANNOTATIONS,
  ...Object.values(TYPE_KEYWORDS).flat(),
  'type',
  'enum',
  'const',
  'anyOf',
  'allOf',
  '$ref',
]);

type Schema = Record<string, unknown>;

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointerToken(token: string): string {
  return decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~');
}

function isSchemaObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonType(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'array';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? 'integer' : 'number';
  }
  return typeof value;
}

function typeAdmits(type: string, value: unknown): boolean {
  const actual = jsonType(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

/**
 * Compiles a JSON Schema (the subset OpenAI accepts for `strict` structured outputs, plus `$ref`
 * recursion) into the grammar the automaton runs. Everything it cannot enforce is refused with
 * an UnsupportedSchemaError rather than ignored, so a response never silently breaks the schema.
 */
export function compileSchema(schema: unknown, limits: ConstraintLimits = DEFAULT_LIMITS): GrammarNode {
  return new SchemaCompiler(schema, limits).compile(schema, '');
}

/**
 * Checks a schema up front, where no tokenizer is at hand (the API validating a request before
 * it queues work). @throws UnsupportedSchemaError exactly when JsonConstraint.forSchema would.
 */
export function assertSupportedSchema(schema: unknown): void {
  compileSchema(schema);
}

class SchemaCompiler {
  private readonly refs = new Map<string, RefNode>();
  private anyNode: GrammarNode | null = null;

  constructor(
    private readonly root: unknown,
    private readonly limits: ConstraintLimits,
  ) {}

  compile(schema: unknown, pointer: string): GrammarNode {
    if (schema === true) {
      return this.any();
    }
    if (!isSchemaObject(schema)) {
      throw new UnsupportedSchemaError(pointer, 'a schema must be an object or true');
    }
    for (const key of Object.keys(schema)) {
      if (!SUPPORTED.has(key)) {
        throw new UnsupportedSchemaError(`${pointer}/${escapePointer(key)}`, `keyword '${key}' is not supported`);
      }
    }
    const keywords = Object.keys(schema).filter((k) => !ANNOTATIONS.has(k));
    const only = (keyword: string): void => {
      const extra = keywords.find((k) => k !== keyword);
      if (extra !== undefined) {
        throw new UnsupportedSchemaError(`${pointer}/${escapePointer(extra)}`, `'${extra}' beside '${keyword}'`);
      }
    };

    if ('$ref' in schema) {
      only('$ref');
      return this.ref(schema.$ref, `${pointer}/$ref`);
    }
    if ('allOf' in schema) {
      only('allOf');
      const parts = schema.allOf;
      if (!Array.isArray(parts) || parts.length !== 1) {
        throw new UnsupportedSchemaError(`${pointer}/allOf`, 'allOf is supported with exactly one member');
      }
      return this.compile(parts[0], `${pointer}/allOf/0`);
    }
    if ('anyOf' in schema) {
      only('anyOf');
      const options = schema.anyOf;
      if (!Array.isArray(options) || options.length === 0) {
        throw new UnsupportedSchemaError(`${pointer}/anyOf`, 'anyOf must be a non-empty array');
      }
      return { kind: 'anyOf', options: options.map((o, i) => this.compile(o, `${pointer}/anyOf/${i}`)) };
    }

    const types = this.types(schema, pointer);
    if ('const' in schema || 'enum' in schema) {
      return this.literals(schema, types, pointer);
    }
    if (types === null) {
      return this.any();
    }
    const nodes = types.map((type) => this.typed(type, schema, pointer));
    return nodes.length === 1 ? nodes[0] : { kind: 'anyOf', options: nodes };
  }

  private any(): GrammarNode {
    this.anyNode ??= anyValueNode(this.limits);
    return this.anyNode;
  }

  /** The declared types, or the one implied by type-specific keywords, or null for "any value". */
  private types(schema: Schema, pointer: string): string[] | null {
    const declared = schema.type;
    if (declared === undefined) {
      const implied = Object.keys(TYPE_KEYWORDS).find((t) => TYPE_KEYWORDS[t].some((k) => k in schema));
      return implied === undefined ? null : [implied];
    }
    const list = Array.isArray(declared) ? declared : [declared];
    list.forEach((t, i) => {
      if (typeof t !== 'string' || !(t in TYPE_KEYWORDS)) {
        const at = Array.isArray(declared) ? `${pointer}/type/${i}` : `${pointer}/type`;
        throw new UnsupportedSchemaError(at, `unknown type ${JSON.stringify(t)}`);
      }
    });
    if (list.length === 0) {
      throw new UnsupportedSchemaError(`${pointer}/type`, 'type list is empty');
    }
    return list as string[];
  }

  private literals(schema: Schema, types: string[] | null, pointer: string): GrammarNode {
    const fromConst = 'const' in schema;
    const at = `${pointer}/${fromConst ? 'const' : 'enum'}`;
    const values = fromConst ? [schema.const] : schema.enum;
    if (!Array.isArray(values) || values.length === 0) {
      throw new UnsupportedSchemaError(at, 'enum must be a non-empty array');
    }
    const admitted = values.filter((v) => types === null || types.some((t) => typeAdmits(t, v)));
    if (admitted.length === 0) {
      throw new UnsupportedSchemaError(at, 'no listed value has the declared type');
    }
    return literalNode(admitted);
  }

  private typed(type: string, schema: Schema, pointer: string): GrammarNode {
    switch (type) {
      case 'object':
        return this.object(schema, pointer);
      case 'array':
        return this.array(schema, pointer);
      case 'string': {
        const minLength = this.count(schema, 'minLength', pointer) ?? 0;
        const patterns = this.stringPatterns(schema, pointer);
        // The length cap never rules out every match: a format longer than the cap still gets its shortest form.
        const shortestMatch = Math.max(0, ...patterns.map((p) => minCharsToAccept(p, p.start)));
        const declaredMax = this.count(schema, 'maxLength', pointer);
        const maxLength = declaredMax ?? Math.max(minLength, shortestMatch, this.limits.maxStringLength);
        this.checkRange(minLength, maxLength, `${pointer}/minLength`);
        if (shortestMatch > maxLength) {
          throw new UnsupportedSchemaError(`${pointer}/maxLength`, `the pattern needs at least ${shortestMatch} characters`);
        }
        return { kind: 'string', minLength, maxLength, patterns };
      }
      case 'number':
      case 'integer':
        return this.number(type === 'integer', schema, pointer);
      case 'boolean':
        return literalNode([true, false]);
      default:
        return literalNode([null]);
    }
  }

  private stringPatterns(schema: Schema, pointer: string): CharPattern[] {
    const patterns: CharPattern[] = [];
    if ('pattern' in schema) {
      const source = schema.pattern;
      if (typeof source !== 'string') {
        throw new UnsupportedSchemaError(`${pointer}/pattern`, 'pattern must be a string');
      }
      try {
        patterns.push(compilePattern(source));
      } catch (error) {
        if (error instanceof PatternSyntaxError) {
          throw new UnsupportedSchemaError(`${pointer}/pattern`, error.message);
        }
        throw error;
      }
    }
    if ('format' in schema) {
      const format = schema.format;
      const source = typeof format === 'string' && Object.hasOwn(FORMAT_PATTERNS, format) ? FORMAT_PATTERNS[format] : undefined;
      if (source === undefined) {
        throw new UnsupportedSchemaError(
          `${pointer}/format`,
          `format ${JSON.stringify(format)} is not supported (supported: ${Object.keys(FORMAT_PATTERNS).join(', ')})`,
        );
      }
      patterns.push(compilePattern(source));
    }
    return patterns;
  }

  private object(schema: Schema, pointer: string): ObjectNode {
    const properties = schema.properties ?? {};
    if (!isSchemaObject(properties)) {
      throw new UnsupportedSchemaError(`${pointer}/properties`, 'properties must be an object');
    }
    const required = schema.required ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) {
      throw new UnsupportedSchemaError(`${pointer}/required`, 'required must be an array of strings');
    }
    const additional = schema.additionalProperties;
    const additionalNode =
      additional === undefined || additional === true
        ? this.any()
        : additional === false
          ? null
          : this.compile(additional, `${pointer}/additionalProperties`);

    const names = Object.keys(properties);
    // Required names without a declaration must still appear; they take the additionalProperties grammar.
    for (const name of required as string[]) {
      if (!names.includes(name)) {
        if (additionalNode === null) {
          throw new UnsupportedSchemaError(`${pointer}/required`, `'${name}' is required but not allowed`);
        }
        names.push(name);
      }
    }
    const props = names.map((name) => ({
      name,
      node:
        name in properties
          ? this.compile(properties[name], `${pointer}/properties/${escapePointer(name)}`)
          : (additionalNode as GrammarNode),
      required: (required as string[]).includes(name),
    }));
    // Emitting only declared members always validates, so extra members are offered only when
    // nothing is declared (a map type or a bare `type: object`).
    const free = props.length === 0 && additionalNode !== null ? freeMembers(additionalNode, this.limits) : null;
    return { kind: 'object', props, free, maxDepth: this.limits.maxDepth, keyTries: [] };
  }

  private array(schema: Schema, pointer: string): ArrayNode {
    const items = schema.items;
    if (Array.isArray(items)) {
      throw new UnsupportedSchemaError(`${pointer}/items`, 'tuple-form items is not supported');
    }
    const item = items === undefined ? this.any() : this.compile(items, `${pointer}/items`);
    const minItems = this.count(schema, 'minItems', pointer) ?? 0;
    const maxItems = this.count(schema, 'maxItems', pointer) ?? Math.max(minItems, this.limits.maxArrayItems);
    this.checkRange(minItems, maxItems, `${pointer}/minItems`);
    return { kind: 'array', item, minItems, maxItems, maxDepth: this.limits.maxDepth };
  }

  private number(integer: boolean, schema: Schema, pointer: string): NumberNode {
    const read = (key: string): number | undefined => {
      const value = schema[key];
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
        throw new UnsupportedSchemaError(`${pointer}/${key}`, `${key} must be a finite number`);
      }
      return value;
    };
    // When both the inclusive and the exclusive form are given, the tighter one decides.
    const bound = (inclusive: string, exclusive: string, isLower: boolean): NumberBound | null => {
      const incl = read(inclusive);
      const excl = read(exclusive);
      if (excl !== undefined && (incl === undefined || (isLower ? excl >= incl : excl <= incl))) {
        return { value: excl, exclusive: true };
      }
      return incl === undefined ? null : { value: incl, exclusive: false };
    };
    const lower = bound('minimum', 'exclusiveMinimum', true);
    const upper = bound('maximum', 'exclusiveMaximum', false);
    const limit = 10 ** this.limits.maxIntegerDigits;
    for (const [b, key] of [
      [lower, 'minimum'],
      [upper, 'maximum'],
    ] as const) {
      if (b !== null && Math.abs(b.value) >= limit) {
        throw new UnsupportedSchemaError(`${pointer}/${key}`, `bounds beyond ${this.limits.maxIntegerDigits} digits`);
      }
    }
    if (lower && upper && (lower.value > upper.value || (lower.value === upper.value && (lower.exclusive || upper.exclusive)))) {
      throw new UnsupportedSchemaError(`${pointer}/minimum`, 'the range admits no number');
    }
    return { ...freeNumber(integer, this.limits), lower, upper };
  }

  private count(schema: Schema, key: string, pointer: string): number | undefined {
    const value = schema[key];
    if (value === undefined) {
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new UnsupportedSchemaError(`${pointer}/${key}`, `${key} must be a non-negative integer`);
    }
    return value;
  }

  private checkRange(min: number, max: number, at: string): void {
    if (min > max) {
      throw new UnsupportedSchemaError(at, 'minimum exceeds maximum');
    }
  }

  private ref(ref: unknown, at: string): GrammarNode {
    if (typeof ref !== 'string' || !ref.startsWith('#')) {
      throw new UnsupportedSchemaError(at, 'only local references (#/...) are supported');
    }
    const cached = this.refs.get(ref);
    if (cached) {
      return cached;
    }
    const node: RefNode = { kind: 'ref', target: null };
    this.refs.set(ref, node);
    if (ref !== '#' && !ref.startsWith('#/')) {
      throw new UnsupportedSchemaError(at, 'anchors are not supported; use a JSON pointer');
    }
    const tokens = ref === '#' ? [] : ref.slice(2).split('/').map(unescapePointerToken);
    let target: unknown = this.root;
    for (const token of tokens) {
      target = isSchemaObject(target) || Array.isArray(target) ? (target as Record<string, unknown>)[token] : undefined;
      if (target === undefined) {
        throw new UnsupportedSchemaError(at, `reference ${ref} does not resolve`);
      }
    }
    node.target = this.compile(target, ref.slice(1));
    // `{"$ref": "#"}` and alias chains back to themselves describe no value at all.
    for (let next: GrammarNode | null = node.target; next?.kind === 'ref'; next = next.target) {
      if (next === node) {
        throw new UnsupportedSchemaError(at, 'the reference only refers back to itself');
      }
    }
    return node;
  }
}
