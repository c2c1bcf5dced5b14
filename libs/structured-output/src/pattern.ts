/**
 * JSON Schema `pattern` (ECMA-262 syntax, unanchored unless it says `^`/`$`) and the common
 * `format`s as nondeterministic automata over code points, run by the string frame of the token
 * automaton so every character of a constrained string keeps it a prefix of a match.
 *
 * The subset is what schemas use in practice: literals, escapes (`\d \w \s` and their negations,
 * `\.` and the like, `\n \t \r \f \v \0`, `\xHH`, `\uHHHH`), `.`, character classes with ranges,
 * groups (capturing, `(?:`, named), alternation, and the quantifiers `* + ? {n} {n,} {n,m}` (lazy
 * forms match the same language). Anchors stand at the ends of top-level alternatives.
 * Backreferences, lookaround and word boundaries describe no regular language the automaton can
 * run and are refused with the position, so an unenforceable pattern is a 400, never ignored.
 */

/** Inclusive code-point ranges, sorted and disjoint. */
export type CharSet = ReadonlyArray<readonly [number, number]>;

export interface PatternEdge {
  readonly chars: CharSet;
  readonly to: number;
}

export interface PatternState {
  readonly edges: PatternEdge[];
  readonly epsilon: number[];
}

/** A Thompson automaton; `start` is already closed over epsilon moves. */
export interface CharPattern {
  /** The source, for error messages and debugging. */
  readonly source: string;
  readonly states: readonly PatternState[];
  readonly start: readonly number[];
  readonly accept: number;
  /** Fewest characters from each state to `accept` (Infinity when it cannot be reached). */
  readonly minToAccept: Int32Array;
}

export class PatternSyntaxError extends Error {
  constructor(
    readonly source: string,
    readonly position: number,
    readonly reason: string,
  ) {
    super(`pattern ${JSON.stringify(source)} at ${position}: ${reason}`);
  }
}

const MAX_CODE_POINT = 0x10ffff;
/** A bounded repeat is expanded into copies; beyond this the automaton would be needlessly large. */
const MAX_REPEAT = 1000;

const DIGIT: CharSet = [[0x30, 0x39]];
const WORD: CharSet = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const SPACE: CharSet = normalize([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
const ANY: CharSet = [[0, MAX_CODE_POINT]];
/** `.` matches everything but line terminators. */
const DOT: CharSet = complement([
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
]);

function normalize(ranges: Array<readonly [number, number]>): CharSet {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) {
      last[1] = Math.max(last[1], hi);
    } else {
      out.push([lo, hi]);
    }
  }
  return out;
}

function complement(set: CharSet): CharSet {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [lo, hi] of normalize([...set])) {
    if (lo > next) {
      out.push([next, lo - 1]);
    }
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) {
    out.push([next, MAX_CODE_POINT]);
  }
  return out;
}

export function charSetHas(set: CharSet, cp: number): boolean {
  for (const [lo, hi] of set) {
    if (cp < lo) {
      return false;
    }
    if (cp <= hi) {
      return true;
    }
  }
  return false;
}

/** Some code point in [from, to] is in the set. */
export function charSetMeets(set: CharSet, from: number, to: number): boolean {
  return set.some(([lo, hi]) => lo <= to && hi >= from);
}

type Ast =
  | { kind: 'chars'; set: CharSet }
  | { kind: 'seq'; items: Ast[] }
  | { kind: 'alt'; options: Ast[] }
  | { kind: 'repeat'; item: Ast; min: number; max: number };

/** Recursive-descent parser of the supported syntax. */
class PatternParser {
  private at = 0;

  constructor(private readonly source: string) {}

  fail(reason: string, position = this.at): never {
    throw new PatternSyntaxError(this.source, position, reason);
  }

  /** Top-level alternatives, each with its own anchors. */
  topLevel(): Array<{ body: Ast; anchoredStart: boolean; anchoredEnd: boolean }> {
    const branches: Array<{ body: Ast; anchoredStart: boolean; anchoredEnd: boolean }> = [];
    for (;;) {
      const anchoredStart = this.eat('^');
      const body = this.sequence(true);
      const anchoredEnd = this.eat('$');
      branches.push({ body, anchoredStart, anchoredEnd });
      if (this.at >= this.source.length) {
        return branches;
      }
      if (!this.eat('|')) {
        this.fail(this.peek() === ')' ? 'unbalanced ")"' : `"${this.peek()}" is only supported at the ends of the pattern`);
      }
    }
  }

  private peek(): string | undefined {
    return this.source[this.at];
  }

  private eat(ch: string): boolean {
    if (this.source[this.at] === ch) {
      this.at++;
      return true;
    }
    return false;
  }

  private alternation(): Ast {
    const options = [this.sequence(false)];
    while (this.eat('|')) {
      options.push(this.sequence(false));
    }
    return options.length === 1 ? options[0] : { kind: 'alt', options };
  }

  /** Items up to `|`, `)` or the end; at top level a `$` followed by the end or `|` ends it too. */
  private sequence(topLevel: boolean): Ast {
    const items: Ast[] = [];
    for (;;) {
      const ch = this.peek();
      if (ch === undefined || ch === '|' || ch === ')') {
        break;
      }
      if (ch === '$' && topLevel && (this.at + 1 === this.source.length || this.source[this.at + 1] === '|')) {
        break;
      }
      items.push(this.quantified(this.atom()));
    }
    return items.length === 1 ? items[0] : { kind: 'seq', items };
  }

  private quantified(item: Ast): Ast {
    let min: number;
    let max: number;
    const ch = this.peek();
    if (ch === '*') {
      [min, max] = [0, Infinity];
    } else if (ch === '+') {
      [min, max] = [1, Infinity];
    } else if (ch === '?') {
      [min, max] = [0, 1];
    } else if (ch === '{' && /^\{\d+(,\d*)?\}/.test(this.source.slice(this.at))) {
      const [whole, low, high] = /^\{(\d+)(?:,(\d*))?\}/.exec(this.source.slice(this.at))!;
      min = Number(low);
      max = high === undefined ? min : high === '' ? Infinity : Number(high);
      if (max < min) {
        this.fail('quantifier range out of order');
      }
      if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) {
        this.fail(`repeat counts above ${MAX_REPEAT} are not supported`);
      }
      this.at += whole.length - 1;
    } else {
      return item;
    }
    this.at++;
    // Lazy and greedy repeats accept the same strings.
    this.eat('?');
    if (this.peek() === '+' || this.peek() === '*' || this.peek() === '{') {
      this.fail('nothing to repeat');
    }
    return { kind: 'repeat', item, min, max };
  }

  private atom(): Ast {
    const start = this.at;
    const ch = this.source[this.at++];
    switch (ch) {
      case '(': {
        if (this.eat('?')) {
          if (this.eat(':')) {
            // non-capturing
          } else if (this.eat('<') && /[A-Za-z_]/.test(this.peek() ?? '')) {
            while (this.peek() !== undefined && this.peek() !== '>') {
              this.at++;
            }
            if (!this.eat('>')) {
              this.fail('unterminated group name');
            }
          } else {
            this.fail('lookaround assertions are not supported', start);
          }
        }
        const inner = this.alternation();
        if (!this.eat(')')) {
          this.fail('missing ")"', start);
        }
        return inner;
      }
      case '[':
        return { kind: 'chars', set: this.charClass() };
      case '.':
        return { kind: 'chars', set: DOT };
      case '\\':
        return { kind: 'chars', set: this.escape(false) };
      case '^':
      case '$':
        return this.fail(`"${ch}" is only supported at the ends of the pattern`, start);
      case '*':
      case '+':
      case '?':
        return this.fail('nothing to repeat', start);
      case ')':
        return this.fail('unbalanced ")"', start);
      default: {
        const cp = this.source.codePointAt(start)!;
        this.at = start + String.fromCodePoint(cp).length;
        return { kind: 'chars', set: [[cp, cp]] };
      }
    }
  }

  private charClass(): CharSet {
    const negated = this.eat('^');
    const ranges: Array<readonly [number, number]> = [];
    let first = true;
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) {
        this.fail('unterminated character class');
      }
      if (ch === ']' && !first) {
        this.at++;
        break;
      }
      first = false;
      const low = this.classAtom();
      if (this.peek() === '-' && this.source[this.at + 1] !== ']' && this.source[this.at + 1] !== undefined) {
        this.at++;
        const high = this.classAtom();
        if (low.length !== 1 || high.length !== 1 || low[0][0] !== low[0][1] || high[0][0] !== high[0][1]) {
          this.fail('a class escape cannot bound a range');
        }
        if (high[0][0] < low[0][0]) {
          this.fail('character class range out of order');
        }
        ranges.push([low[0][0], high[0][0]]);
      } else {
        ranges.push(...low);
      }
    }
    const set = normalize(ranges);
    return negated ? complement(set) : set;
  }

  private classAtom(): CharSet {
    const ch = this.source[this.at++];
    if (ch === '\\') {
      return this.escape(true);
    }
    const cp = this.source.codePointAt(this.at - 1)!;
    this.at = this.at - 1 + String.fromCodePoint(cp).length;
    return [[cp, cp]];
  }

  private escape(inClass: boolean): CharSet {
    const start = this.at - 1;
    const ch = this.source[this.at++];
    const single = (cp: number): CharSet => [[cp, cp]];
    switch (ch) {
      case undefined:
        return this.fail('pattern ends with "\\"', start);
      case 'd':
        return DIGIT;
      case 'D':
        return complement(DIGIT);
      case 'w':
        return WORD;
      case 'W':
        return complement(WORD);
      case 's':
        return SPACE;
      case 'S':
        return complement(SPACE);
      case 'n':
        return single(0x0a);
      case 't':
        return single(0x09);
      case 'r':
        return single(0x0d);
      case 'f':
        return single(0x0c);
      case 'v':
        return single(0x0b);
      case '0':
        return single(0);
      case 'b':
        return inClass ? single(0x08) : this.fail('word boundaries are not supported', start);
      case 'B':
        return this.fail('word boundaries are not supported', start);
      case 'x':
      case 'u': {
        const digits = ch === 'x' ? 2 : 4;
        const hex = this.source.slice(this.at, this.at + digits);
        if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) {
          this.fail(`\\${ch} needs ${digits} hex digits`, start);
        }
        this.at += digits;
        return single(parseInt(hex, 16));
      }
      default:
        if (/[1-9]/.test(ch) || ch === 'k') {
          return this.fail('backreferences are not supported', start);
        }
        if (/[A-Za-z]/.test(ch)) {
          return this.fail(`unknown escape "\\${ch}"`, start);
        }
        return single(ch.codePointAt(0)!);
    }
  }
}

/** Builds the automaton of an AST, one fragment per node, wired with epsilon moves. */
class NfaBuilder {
  readonly states: PatternState[] = [];

  newState(): number {
    this.states.push({ edges: [], epsilon: [] });
    return this.states.length - 1;
  }

  /** Wires `ast` from `from` to a new state, which it returns. */
  build(ast: Ast, from: number): number {
    switch (ast.kind) {
      case 'chars': {
        const to = this.newState();
        this.states[from].edges.push({ chars: ast.set, to });
        return to;
      }
      case 'seq':
        return ast.items.reduce((at, item) => this.build(item, at), from);
      case 'alt': {
        const to = this.newState();
        for (const option of ast.options) {
          const start = this.newState();
          this.states[from].epsilon.push(start);
          this.states[this.build(option, start)].epsilon.push(to);
        }
        return to;
      }
      case 'repeat': {
        let at = from;
        for (let i = 0; i < ast.min; i++) {
          at = this.build(ast.item, at);
        }
        if (ast.max === Infinity) {
          const loop = this.newState();
          this.states[at].epsilon.push(loop);
          this.states[this.build(ast.item, loop)].epsilon.push(loop);
          return loop;
        }
        const to = this.newState();
        this.states[at].epsilon.push(to);
        for (let i = ast.min; i < ast.max; i++) {
          at = this.build(ast.item, at);
          this.states[at].epsilon.push(to);
        }
        return to;
      }
    }
  }
}

/** The states reachable from `states` by epsilon moves, sorted, so equal sets compare equal. */
export function closure(pattern: Pick<CharPattern, 'states'>, states: Iterable<number>): number[] {
  const seen = new Set<number>();
  const stack = [...states];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (!seen.has(s)) {
      seen.add(s);
      stack.push(...pattern.states[s].epsilon);
    }
  }
  return [...seen].sort((a, b) => a - b);
}

/** The states after reading `cp` from `states` (closed), empty when no path reads it. */
export function stepPattern(pattern: CharPattern, states: readonly number[], cp: number): number[] {
  const next: number[] = [];
  for (const s of states) {
    for (const edge of pattern.states[s].edges) {
      if (charSetHas(edge.chars, cp)) {
        next.push(edge.to);
      }
    }
  }
  return next.length === 0 ? next : closure(pattern, next);
}

/**
 * Fewest characters to accept after reading some code point in [from, to] (the read one not
 * counted), or Infinity when no state can read any of them.
 */
export function charsToAcceptVia(pattern: CharPattern, states: readonly number[], from: number, to: number): number {
  let best = Infinity;
  for (const s of states) {
    for (const edge of pattern.states[s].edges) {
      if (charSetMeets(edge.chars, from, to)) {
        best = Math.min(best, pattern.minToAccept[edge.to]);
      }
    }
  }
  return best;
}

export function minCharsToAccept(pattern: CharPattern, states: readonly number[]): number {
  let best = Infinity;
  for (const s of states) {
    best = Math.min(best, pattern.minToAccept[s]);
  }
  return best;
}

/** Shortest distance to accept by a backwards breadth-first search (epsilon moves cost nothing). */
function distancesToAccept(states: readonly PatternState[], accept: number): Int32Array {
  const reverse: Array<Array<{ from: number; cost: number }>> = states.map(() => []);
  states.forEach((state, from) => {
    state.epsilon.forEach((to) => reverse[to].push({ from, cost: 0 }));
    state.edges.forEach((edge) => {
      if (edge.chars.length > 0) {
        reverse[edge.to].push({ from, cost: 1 });
      }
    });
  });
  const dist = new Int32Array(states.length).fill(2 ** 30);
  dist[accept] = 0;
  // 0-1 BFS: epsilon edges go to the front of the deque.
  const deque: number[] = [accept];
  while (deque.length > 0) {
    const s = deque.shift()!;
    for (const { from, cost } of reverse[s]) {
      if (dist[s] + cost < dist[from]) {
        dist[from] = dist[s] + cost;
        if (cost === 0) {
          deque.unshift(from);
        } else {
          deque.push(from);
        }
      }
    }
  }
  return dist;
}

/** @throws PatternSyntaxError for syntax outside the supported subset, or a pattern no string matches. */
export function compilePattern(source: string): CharPattern {
  const parser = new PatternParser(source);
  const branches = parser.topLevel();
  const anything: Ast = { kind: 'repeat', item: { kind: 'chars', set: ANY }, min: 0, max: Infinity };
  const whole: Ast = {
    kind: 'alt',
    options: branches.map(({ body, anchoredStart, anchoredEnd }) => ({
      kind: 'seq',
      items: [...(anchoredStart ? [] : [anything]), body, ...(anchoredEnd ? [] : [anything])],
    })),
  };
  const builder = new NfaBuilder();
  const entry = builder.newState();
  const accept = builder.build(whole, entry);
  const minToAccept = distancesToAccept(builder.states, accept);
  const pattern: CharPattern = {
    source,
    states: builder.states,
    start: closure(builder, [entry]),
    accept,
    minToAccept,
  };
  if (minCharsToAccept(pattern, pattern.start) >= 2 ** 30) {
    throw new PatternSyntaxError(source, 0, 'no string matches the pattern');
  }
  return pattern;
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
// Days valid in every year: February stops at 28 (the 29th needs the year, which a pattern cannot weigh).
const MONTH_DAY = '(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))';
const DATE = `\\d{4}-${MONTH_DAY}`;
// RFC 3339 full-time; the leap second is left out as ajv-formats checks it against the hour.
const TIME = '(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,9})?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)';

/**
 * The formats enforced, as patterns of strings that JSON Schema validators (ajv-formats' full
 * mode) accept: RFC 3339 dates and times, RFC 4122 UUIDs, dotted-quad IPv4, and the usual
 * practical subset of RFC 5321 addresses.
 */
export const FORMAT_PATTERNS: Readonly<Record<string, string>> = {
  'date-time': `^${DATE}T${TIME}$`,
  date: `^${DATE}$`,
  time: `^${TIME}$`,
  uuid: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
  email: "^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,24}$",
  ipv4: `^(?:${OCTET}\\.){3}${OCTET}$`,
};
