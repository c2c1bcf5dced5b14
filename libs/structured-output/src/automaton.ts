import {
  ArrayNode,
  GrammarNode,
  keyTrieAt,
  LiteralTrie,
  NumberNode,
  ObjectNode,
  SequenceNode,
  StringNode,
  TextNode,
} from './grammar';
import { charsToAcceptVia, minCharsToAccept, stepPattern } from './pattern';

/**
 * The pushdown automaton. It reads the UTF-8 bytes of the output (`ch` below is one byte; outside
 * strings every byte is an ASCII character): byte-level tokenizers have tokens holding part of a
 * character, and a string may be spelled with them as long as the bytes end up valid UTF-8.
 *
 * A configuration is an immutable linked stack of frames, so stepping never mutates: the token
 * trie walk can branch from one configuration into many children and drop them without undo
 * bookkeeping. `anyOf` makes the automaton nondeterministic, so a state is a list of
 * configurations; in practice alternatives die within a few bytes and the list has length one.
 */
export interface Stack {
  readonly frame: Frame;
  readonly parent: Stack | null;
  readonly depth: number;
}

export interface Frame {
  /** The value this frame matches may end before the next character. */
  readonly canEnd: boolean;
  /** The value has ended and accepts nothing more. */
  readonly isFinal: boolean;
  /** Pushes every configuration reachable by consuming `ch` in this frame (not in its parents). */
  step(ch: number, self: Stack, out: Stack[]): void;
  /** A superset of the characters `step` accepts, or null when too many to list (a string body). */
  nextChars(): Iterable<number> | null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const SPACE = 0x20;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

function isDigit(ch: number): boolean {
  return ch >= DIGIT_0 && ch <= DIGIT_9;
}

function replaceTop(self: Stack, frame: Frame, out: Stack[]): void {
  out.push({ frame, parent: self.parent, depth: self.depth });
}

/**
 * Pushes the configurations that begin a value of `node` on top of `parent` (before its first
 * character). `expanding` holds the refs and unions being expanded: a left-recursive schema
 * (`v: anyOf[$ref v, string]`) reaches itself again without reading a character, and that
 * path adds nothing new.
 */
function enter(node: GrammarNode, parent: Stack | null, out: Stack[], expanding: GrammarNode[] = []): void {
  const depth = parent === null ? 1 : parent.depth + 1;
  switch (node.kind) {
    case 'ref':
    case 'anyOf':
      if (expanding.includes(node)) {
        return;
      }
      expanding.push(node);
      for (const option of node.kind === 'ref' ? [node.target!] : node.options) {
        enter(option, parent, out, expanding);
      }
      expanding.pop();
      return;
    case 'object':
      if (depth <= node.maxDepth) {
        out.push({ frame: new ObjectFrame(node, ObjectPhase.Start, 0, null, null), parent, depth });
      }
      return;
    case 'array':
      if (depth <= node.maxDepth) {
        out.push({ frame: new ArrayFrame(node, ArrayPhase.Start, 0), parent, depth });
      }
      return;
    case 'string':
      out.push({ frame: new StringFrame(node, StringPhase.Start, 0, null, node.patterns.map((p) => p.start)), parent, depth });
      return;
    case 'number':
      out.push({ frame: new NumberFrame(node, NumberPhase.Start, ''), parent, depth });
      return;
    case 'literal':
      out.push({ frame: new LiteralFrame(node.trie), parent, depth });
      return;
    case 'sequence':
      out.push({ frame: new SequenceFrame(node, 0), parent, depth });
      return;
    case 'text':
      out.push({ frame: new TextFrame(node, 0, 0, null), parent, depth });
      return;
  }
}

function canStart(node: GrammarNode, ch: number): boolean {
  return firstChars(node).has(ch);
}

const firstCharCache = new WeakMap<GrammarNode, Set<number>>();
const DIGITS = Array.from({ length: 10 }, (_, i) => DIGIT_0 + i);
const NUMBER_CHARS = [MINUS, DOT, ...DIGITS];

/**
 * Characters a value of `node` can begin with (a superset: bounds and depth are not consulted).
 * A value start is tried against every first character of the vocabulary, tens of thousands
 * of them; this rejects nearly all before any frame is allocated.
 */
function firstChars(node: GrammarNode): Set<number> {
  let chars = firstCharCache.get(node);
  if (!chars) {
    chars = new Set();
    // Only the outermost node is cached: an inner one met again on a cycle is cut short there.
    collectFirstChars(node, chars, new Set());
    firstCharCache.set(node, chars);
  }
  return chars;
}

function collectFirstChars(node: GrammarNode, chars: Set<number>, visiting: Set<GrammarNode>): void {
  switch (node.kind) {
    case 'ref':
    case 'anyOf':
      if (!visiting.has(node)) {
        visiting.add(node);
        for (const option of node.kind === 'ref' ? [node.target!] : node.options) {
          collectFirstChars(option, chars, visiting);
        }
      }
      return;
    case 'object':
      chars.add(OPEN_BRACE);
      return;
    case 'array':
      chars.add(OPEN_BRACKET);
      return;
    case 'string':
      chars.add(QUOTE);
      return;
    case 'number':
      for (const ch of [MINUS, ...DIGITS]) {
        chars.add(ch);
      }
      return;
    case 'literal':
      for (const ch of node.trie.children.keys()) {
        chars.add(ch);
      }
      return;
    case 'sequence':
      for (const item of node.items) {
        collectFirstChars(item.node, chars, visiting);
        if (!item.optional) {
          return;
        }
      }
      return;
    case 'text':
      for (const ch of TEXT_FIRST_BYTES) {
        chars.add(ch);
      }
      return;
  }
}

/**
 * Begins a child value with its first character `ch`; `parent` is the container already in its
 * after-value phase. Callers check `canStart` first, before allocating that parent.
 */
function startValue(node: GrammarNode, ch: number, parent: Stack, out: Stack[]): void {
  const starts: Stack[] = [];
  enter(node, parent, starts);
  for (const start of starts) {
    start.frame.step(ch, start, out);
  }
}

const enum ObjectPhase {
  Start,
  Open,
  Key,
  AfterKey,
  AfterColon,
  AfterColonSpace,
  AfterValue,
  AfterComma,
  AfterCommaSpace,
  Closed,
}

class ObjectFrame implements Frame {
  readonly canEnd: boolean;
  readonly isFinal: boolean;

  /**
   * @param next declared members: index of the first member not yet settled; free keys: members so far.
   * @param key position in the key trie while a declared key is being spelled.
   * @param value grammar of the member whose key was just read.
   */
  constructor(
    readonly node: ObjectNode,
    readonly phase: ObjectPhase,
    readonly next: number,
    readonly key: LiteralTrie | null,
    readonly value: GrammarNode | null,
  ) {
    this.canEnd = phase === ObjectPhase.Closed;
    this.isFinal = this.canEnd;
  }

  step(ch: number, self: Stack, out: Stack[]): void {
    switch (this.phase) {
      case ObjectPhase.Start:
        if (ch === OPEN_BRACE) {
          this.to(ObjectPhase.Open, self, out);
        }
        return;
      case ObjectPhase.Open:
        if (ch === QUOTE && this.hasMore()) {
          this.beginKey(self, out);
        } else if (ch === CLOSE_BRACE && this.mayClose()) {
          this.to(ObjectPhase.Closed, self, out);
        }
        return;
      case ObjectPhase.Key: {
        const key = this.key!.children.get(ch);
        if (key === undefined) {
          return;
        }
        // A quoted key's trie node is terminal exactly at its closing quote.
        const frame =
          key.payload >= 0
            ? new ObjectFrame(this.node, ObjectPhase.AfterKey, key.payload + 1, null, this.node.props[key.payload].node)
            : new ObjectFrame(this.node, ObjectPhase.Key, this.next, key, null);
        replaceTop(self, frame, out);
        return;
      }
      case ObjectPhase.AfterKey:
        if (ch === COLON) {
          this.to(ObjectPhase.AfterColon, self, out);
        }
        return;
      case ObjectPhase.AfterColon:
        if (ch === SPACE) {
          this.to(ObjectPhase.AfterColonSpace, self, out);
          return;
        }
        this.beginValue(ch, self, out);
        return;
      case ObjectPhase.AfterColonSpace:
        this.beginValue(ch, self, out);
        return;
      case ObjectPhase.AfterValue:
        if (ch === COMMA && this.hasMore()) {
          this.to(ObjectPhase.AfterComma, self, out);
        } else if (ch === CLOSE_BRACE && this.mayClose()) {
          this.to(ObjectPhase.Closed, self, out);
        }
        return;
      case ObjectPhase.AfterComma:
        if (ch === SPACE) {
          this.to(ObjectPhase.AfterCommaSpace, self, out);
        } else if (ch === QUOTE) {
          this.beginKey(self, out);
        }
        return;
      case ObjectPhase.AfterCommaSpace:
        if (ch === QUOTE) {
          this.beginKey(self, out);
        }
        return;
      case ObjectPhase.Closed:
        return;
    }
  }

  nextChars(): Iterable<number> | null {
    switch (this.phase) {
      case ObjectPhase.Start:
        return [OPEN_BRACE];
      case ObjectPhase.Open:
      case ObjectPhase.AfterValue:
        return [QUOTE, COMMA, CLOSE_BRACE];
      case ObjectPhase.Key:
        return this.key!.children.keys();
      case ObjectPhase.AfterKey:
        return [COLON];
      case ObjectPhase.AfterColon:
        return [SPACE, ...firstChars(this.value!)];
      case ObjectPhase.AfterColonSpace:
        return firstChars(this.value!);
      case ObjectPhase.AfterComma:
        return [SPACE, QUOTE];
      case ObjectPhase.AfterCommaSpace:
        return [QUOTE];
      case ObjectPhase.Closed:
        return [];
    }
  }

  private to(phase: ObjectPhase, self: Stack, out: Stack[]): void {
    replaceTop(self, new ObjectFrame(this.node, phase, this.next, null, this.value), out);
  }

  private hasMore(): boolean {
    const free = this.node.free;
    return free === null ? this.next < this.node.props.length : this.next < free.maxMembers;
  }

  private mayClose(): boolean {
    const props = this.node.props;
    for (let i = this.next; i < props.length; i++) {
      if (props[i].required) {
        return false;
      }
    }
    return true;
  }

  /** Consumes the opening quote of a key. */
  private beginKey(self: Stack, out: Stack[]): void {
    const free = this.node.free;
    if (free === null) {
      const key = keyTrieAt(this.node, this.next).children.get(QUOTE);
      if (key !== undefined) {
        replaceTop(self, new ObjectFrame(this.node, ObjectPhase.Key, this.next, key, null), out);
      }
      return;
    }
    const resume = new ObjectFrame(this.node, ObjectPhase.AfterKey, this.next + 1, null, free.value);
    out.push({
      frame: new StringFrame(free.key, StringPhase.Body, 0, null, []),
      parent: { frame: resume, parent: self.parent, depth: self.depth },
      depth: self.depth + 1,
    });
  }

  private beginValue(ch: number, self: Stack, out: Stack[]): void {
    if (!canStart(this.value!, ch)) {
      return;
    }
    const resume = new ObjectFrame(this.node, ObjectPhase.AfterValue, this.next, null, null);
    startValue(this.value!, ch, { frame: resume, parent: self.parent, depth: self.depth }, out);
  }
}

const enum ArrayPhase {
  Start,
  Open,
  AfterValue,
  AfterComma,
  AfterCommaSpace,
  Closed,
}

class ArrayFrame implements Frame {
  readonly canEnd: boolean;
  readonly isFinal: boolean;

  /** @param count items begun so far. */
  constructor(
    readonly node: ArrayNode,
    readonly phase: ArrayPhase,
    readonly count: number,
  ) {
    this.canEnd = phase === ArrayPhase.Closed;
    this.isFinal = this.canEnd;
  }

  step(ch: number, self: Stack, out: Stack[]): void {
    const node = this.node;
    switch (this.phase) {
      case ArrayPhase.Start:
        if (ch === OPEN_BRACKET) {
          replaceTop(self, new ArrayFrame(node, ArrayPhase.Open, 0), out);
        }
        return;
      case ArrayPhase.Open:
        if (ch === CLOSE_BRACKET) {
          if (node.minItems === 0) {
            replaceTop(self, new ArrayFrame(node, ArrayPhase.Closed, 0), out);
          }
        } else if (node.maxItems > 0) {
          this.beginItem(ch, self, out);
        }
        return;
      case ArrayPhase.AfterValue:
        if (ch === COMMA && this.count < node.maxItems) {
          replaceTop(self, new ArrayFrame(node, ArrayPhase.AfterComma, this.count), out);
        } else if (ch === CLOSE_BRACKET && this.count >= node.minItems) {
          replaceTop(self, new ArrayFrame(node, ArrayPhase.Closed, this.count), out);
        }
        return;
      case ArrayPhase.AfterComma:
        if (ch === SPACE) {
          replaceTop(self, new ArrayFrame(node, ArrayPhase.AfterCommaSpace, this.count), out);
          return;
        }
        this.beginItem(ch, self, out);
        return;
      case ArrayPhase.AfterCommaSpace:
        this.beginItem(ch, self, out);
        return;
      case ArrayPhase.Closed:
        return;
    }
  }

  nextChars(): Iterable<number> | null {
    switch (this.phase) {
      case ArrayPhase.Start:
        return [OPEN_BRACKET];
      case ArrayPhase.Open:
        return [CLOSE_BRACKET, ...firstChars(this.node.item)];
      case ArrayPhase.AfterValue:
        return [COMMA, CLOSE_BRACKET];
      case ArrayPhase.AfterComma:
        return [SPACE, ...firstChars(this.node.item)];
      case ArrayPhase.AfterCommaSpace:
        return firstChars(this.node.item);
      case ArrayPhase.Closed:
        return [];
    }
  }

  private beginItem(ch: number, self: Stack, out: Stack[]): void {
    if (!canStart(this.node.item, ch)) {
      return;
    }
    const resume = new ArrayFrame(this.node, ArrayPhase.AfterValue, this.count + 1);
    startValue(this.node.item, ch, { frame: resume, parent: self.parent, depth: self.depth }, out);
  }
}

const enum StringPhase {
  Start,
  Body,
  Escape,
  Hex1,
  Hex2,
  /** Second hex digit after a leading 'd': only 0-7, so no surrogate half is ever written. */
  Hex2AfterD,
  Hex3,
  Hex4,
  /** Inside a multi-byte character: `need` continuation bytes to go, the next one in [lo, hi]. */
  Utf8,
  Closed,
}

const SIMPLE_ESCAPES = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));
const ESCAPE_CHARS = [...SIMPLE_ESCAPES, 0x75];
const HEX_CHARS = [...'0123456789abcdefABCDEF'].map((c) => c.charCodeAt(0));

function isHex(ch: number): boolean {
  return isDigit(ch) || (ch >= 0x41 && ch <= 0x46) || (ch >= 0x61 && ch <= 0x66);
}

/** The continuation bytes a UTF-8 lead byte needs, and the range allowed for the first of them. */
export interface Utf8Lead {
  readonly need: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * RFC 3629 well-formed sequences only: the narrowed first-continuation ranges after E0, ED, F0
 * and F4 exclude overlong forms, UTF-16 surrogates and code points above U+10FFFF, so every
 * accepted string is text `JSON.parse` and ajv read back unchanged.
 */
export function utf8Lead(byte: number): Utf8Lead | null {
  if (byte >= 0xc2 && byte <= 0xdf) {
    return { need: 1, lo: 0x80, hi: 0xbf };
  }
  if (byte >= 0xe0 && byte <= 0xef) {
    return { need: 2, lo: byte === 0xe0 ? 0xa0 : 0x80, hi: byte === 0xed ? 0x9f : 0xbf };
  }
  if (byte >= 0xf0 && byte <= 0xf4) {
    return { need: 3, lo: byte === 0xf0 ? 0x90 : 0x80, hi: byte === 0xf4 ? 0x8f : 0xbf };
  }
  return null;
}

/** Bytes a JSON string holds unescaped on their own: printable ASCII but the quote and backslash. */
export function isPlainAsciiByte(byte: number): boolean {
  return byte >= SPACE && byte < 0x80 && byte !== QUOTE && byte !== BACKSLASH;
}

/** What each simple escape denotes, for matching escaped characters against a pattern. */
const ESCAPED_CHAR = new Map([...'"\\/bfnrt'].map((c, i) => [c.charCodeAt(0), [0x22, 0x5c, 0x2f, 0x08, 0x0c, 0x0a, 0x0d, 0x09][i]]));

class StringFrame implements Frame {
  readonly canEnd: boolean;
  readonly isFinal: boolean;

  /**
   * @param count characters so far; an escape counts as the one character it denotes.
   * @param patterns per pattern of the node, the automaton states after the characters so far.
   * @param codePoint inside a multi-byte character, the bits read so far.
   */
  constructor(
    readonly node: StringNode,
    readonly phase: StringPhase,
    readonly count: number,
    readonly utf8: Utf8Lead | null,
    readonly patterns: readonly (readonly number[])[],
    readonly codePoint = 0,
  ) {
    this.canEnd = phase === StringPhase.Closed;
    this.isFinal = this.canEnd;
  }

  /** Characters still allowed when between characters of a free body; -1 elsewhere (a patterned body checks each one). */
  get bodyBudget(): number {
    return this.phase === StringPhase.Body && this.node.patterns.length === 0 ? this.node.maxLength - this.count : -1;
  }

  nextChars(): Iterable<number> | null {
    switch (this.phase) {
      case StringPhase.Start:
        return [QUOTE];
      case StringPhase.Body:
        return null;
      case StringPhase.Escape:
        return this.node.patterns.length === 0 ? ESCAPE_CHARS : SIMPLE_ESCAPES;
      case StringPhase.Hex1:
      case StringPhase.Hex2:
      case StringPhase.Hex2AfterD:
      case StringPhase.Hex3:
      case StringPhase.Hex4:
        return HEX_CHARS;
      case StringPhase.Utf8: {
        const { lo, hi } = this.utf8!;
        return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
      }
      case StringPhase.Closed:
        return [];
    }
  }

  /**
   * The pattern states after one more character, or null when a pattern cannot read it or could
   * no longer be completed within maxLength. `cp` is a range while a multi-byte character is
   * still incomplete: then the states stay and only reachability is checked.
   */
  private advancePatterns(from: number, to: number, complete: boolean, countAfter: number): (readonly number[])[] | null {
    const { node } = this;
    const next: (readonly number[])[] = [];
    for (let i = 0; i < node.patterns.length; i++) {
      const pattern = node.patterns[i];
      if (!complete) {
        if (countAfter + charsToAcceptVia(pattern, this.patterns[i], from, to) > node.maxLength) {
          return null;
        }
        next.push(this.patterns[i]);
        continue;
      }
      const states = stepPattern(pattern, this.patterns[i], from);
      if (states.length === 0 || countAfter + minCharsToAccept(pattern, states) > node.maxLength) {
        return null;
      }
      next.push(states);
    }
    return next;
  }

  private patternsAccept(): boolean {
    return this.node.patterns.every((pattern, i) => this.patterns[i].includes(pattern.accept));
  }

  step(ch: number, self: Stack, out: Stack[]): void {
    const { node, count } = this;
    let phase: StringPhase;
    let nextCount = count;
    let utf8: Utf8Lead | null = null;
    let patterns = this.patterns;
    let codePoint = 0;
    const patterned = node.patterns.length > 0;
    switch (this.phase) {
      case StringPhase.Start:
        if (ch !== QUOTE) {
          return;
        }
        phase = StringPhase.Body;
        break;
      case StringPhase.Body:
        if (ch === QUOTE) {
          if (count < node.minLength || !this.patternsAccept()) {
            return;
          }
          phase = StringPhase.Closed;
        } else if (count >= node.maxLength || ch < SPACE) {
          return;
        } else if (ch === BACKSLASH) {
          // Patterned, an escape must denote a character the patterns can read next.
          if (patterned && ![...ESCAPED_CHAR.values()].some((denoted) => this.advancePatterns(denoted, denoted, true, count + 1) !== null)) {
            return;
          }
          phase = StringPhase.Escape;
        } else if (ch < 0x80) {
          phase = StringPhase.Body;
          nextCount++;
          if (patterned) {
            const next = this.advancePatterns(ch, ch, true, nextCount);
            if (next === null) {
              return;
            }
            patterns = next;
          }
        } else {
          // A character counts once, at its lead byte.
          utf8 = utf8Lead(ch);
          if (utf8 === null) {
            return;
          }
          phase = StringPhase.Utf8;
          nextCount++;
          codePoint = ch & (0x3f >> utf8.need);
          if (patterned && this.advancePatterns(...codePointRange(codePoint, utf8), false, nextCount) === null) {
            return;
          }
        }
        break;
      case StringPhase.Utf8: {
        const { need, lo, hi } = this.utf8!;
        if (ch < lo || ch > hi) {
          return;
        }
        codePoint = this.codePoint * 64 + (ch & 0x3f);
        if (need > 1) {
          phase = StringPhase.Utf8;
          utf8 = { need: need - 1, lo: 0x80, hi: 0xbf };
        } else {
          phase = StringPhase.Body;
        }
        if (patterned) {
          const next = this.advancePatterns(...codePointRange(codePoint, utf8), need === 1, count);
          if (next === null) {
            return;
          }
          patterns = next;
        }
        break;
      }
      case StringPhase.Escape:
        if (SIMPLE_ESCAPES.has(ch)) {
          phase = StringPhase.Body;
          nextCount++;
          if (patterned) {
            const denoted = ESCAPED_CHAR.get(ch)!;
            const next = this.advancePatterns(denoted, denoted, true, nextCount);
            if (next === null) {
              return;
            }
            patterns = next;
          }
        } else if (ch === 0x75 /* u */ && !patterned) {
          // Patterned strings spell characters directly; \u escapes are not needed to match any pattern.
          phase = StringPhase.Hex1;
        } else {
          return;
        }
        break;
      case StringPhase.Hex1:
        if (!isHex(ch)) {
          return;
        }
        phase = ch === 0x64 || ch === 0x44 ? StringPhase.Hex2AfterD : StringPhase.Hex2;
        break;
      case StringPhase.Hex2:
      case StringPhase.Hex2AfterD:
        if (!isHex(ch) || (this.phase === StringPhase.Hex2AfterD && !(ch >= DIGIT_0 && ch <= 0x37))) {
          return;
        }
        phase = StringPhase.Hex3;
        break;
      case StringPhase.Hex3:
        if (!isHex(ch)) {
          return;
        }
        phase = StringPhase.Hex4;
        break;
      case StringPhase.Hex4:
        if (!isHex(ch)) {
          return;
        }
        phase = StringPhase.Body;
        nextCount++;
        break;
      case StringPhase.Closed:
        return;
    }
    replaceTop(self, new StringFrame(node, phase, nextCount, utf8, patterns, codePoint), out);
  }
}

/**
 * The code points a multi-byte character can still become, given its bits so far and what the
 * continuation bytes to come may be (null: none, the character is complete).
 */
function codePointRange(bits: number, next: Utf8Lead | null): [number, number] {
  if (next === null) {
    return [bits, bits];
  }
  const rest = 64 ** (next.need - 1);
  const base = bits * 64 * rest;
  return [base + (next.lo & 0x3f) * rest, base + (next.hi & 0x3f) * rest + rest - 1];
}

const enum NumberPhase {
  Start,
  Sign,
  Zero,
  Integer,
  Dot,
  Fraction,
}

/** A closed or half-open interval of reachable numbers. */
interface Interval {
  lo: number;
  loIn: boolean;
  hi: number;
  hiIn: boolean;
}

class NumberFrame implements Frame {
  readonly canEnd: boolean;
  readonly isFinal = false;

  /** @param text the characters read so far; numbers are short, so re-parsing it is cheap. */
  constructor(
    readonly node: NumberNode,
    readonly phase: NumberPhase,
    readonly text: string,
  ) {
    const complete = phase === NumberPhase.Zero || phase === NumberPhase.Integer || phase === NumberPhase.Fraction;
    this.canEnd = complete && inBounds(node, point(Number(text)));
  }

  nextChars(): Iterable<number> {
    return NUMBER_CHARS;
  }

  step(ch: number, self: Stack, out: Stack[]): void {
    const phase = this.nextPhase(ch);
    if (phase === null) {
      return;
    }
    const next = new NumberFrame(this.node, phase, this.text + String.fromCharCode(ch));
    if (next.reachable().some((interval) => inBounds(this.node, interval))) {
      replaceTop(self, next, out);
    }
  }

  private nextPhase(ch: number): NumberPhase | null {
    const { node, text } = this;
    switch (this.phase) {
      case NumberPhase.Start:
        return ch === MINUS ? NumberPhase.Sign : firstDigit(ch);
      case NumberPhase.Sign:
        return firstDigit(ch);
      case NumberPhase.Zero:
        return ch === DOT && !node.integer && node.maxFractionDigits > 0 ? NumberPhase.Dot : null;
      case NumberPhase.Integer:
        if (isDigit(ch)) {
          return this.integerDigits() < node.maxIntegerDigits ? NumberPhase.Integer : null;
        }
        return ch === DOT && !node.integer && node.maxFractionDigits > 0 ? NumberPhase.Dot : null;
      case NumberPhase.Dot:
        return isDigit(ch) ? NumberPhase.Fraction : null;
      case NumberPhase.Fraction:
        return isDigit(ch) && text.length - text.indexOf('.') - 1 < node.maxFractionDigits ? NumberPhase.Fraction : null;
    }
  }

  private integerDigits(): number {
    return this.text.length - (this.text.startsWith('-') ? 1 : 0);
  }

  /** Every number some continuation of `text` can end as, as a union of intervals. */
  private reachable(): Interval[] {
    const { node, text } = this;
    const negative = text.startsWith('-');
    const magnitude: Interval[] = [];
    const fractions = !node.integer && node.maxFractionDigits > 0;
    switch (this.phase) {
      case NumberPhase.Start:
      case NumberPhase.Sign:
        magnitude.push({ lo: 0, loIn: true, hi: 10 ** node.maxIntegerDigits, hiIn: false });
        break;
      case NumberPhase.Zero:
        magnitude.push(fractions ? { lo: 0, loIn: true, hi: 1, hiIn: false } : point(0));
        break;
      case NumberPhase.Integer: {
        const v = Math.abs(Number(text));
        magnitude.push(fractions ? { lo: v, loIn: true, hi: v + 1, hiIn: false } : point(v));
        for (let scale = 10, d = this.integerDigits(); d < node.maxIntegerDigits; d++, scale *= 10) {
          magnitude.push(
            fractions
              ? { lo: v * scale, loIn: true, hi: (v + 1) * scale, hiIn: false }
              : { lo: v * scale, loIn: true, hi: (v + 1) * scale - 1, hiIn: true },
          );
        }
        break;
      }
      case NumberPhase.Dot:
      case NumberPhase.Fraction: {
        const v = Math.abs(Number(text.endsWith('.') ? text.slice(0, -1) : text));
        const digits = text.length - text.indexOf('.') - 1;
        magnitude.push(
          digits < node.maxFractionDigits ? { lo: v, loIn: true, hi: v + 10 ** -digits, hiIn: false } : point(v),
        );
        break;
      }
    }
    return negative ? magnitude.map((m) => ({ lo: -m.hi, loIn: m.hiIn, hi: -m.lo, hiIn: m.loIn })) : magnitude;
  }
}

function firstDigit(ch: number): NumberPhase | null {
  if (ch === DIGIT_0) {
    return NumberPhase.Zero;
  }
  return isDigit(ch) ? NumberPhase.Integer : null;
}

function point(value: number): Interval {
  return { lo: value, loIn: true, hi: value, hiIn: true };
}

function inBounds(node: NumberNode, interval: Interval): boolean {
  let { lo, loIn, hi, hiIn } = interval;
  const { lower, upper } = node;
  if (node.integer) {
    // Only integers are reachable, so shrink both sides to the integers inside.
    lo = loIn ? Math.ceil(lo) : Math.floor(lo) + 1;
    hi = hiIn ? Math.floor(hi) : Math.ceil(hi) - 1;
    loIn = hiIn = true;
  }
  if (lower !== null && (lower.value > lo || (lower.value === lo && lower.exclusive))) {
    lo = lower.value;
    loIn = !lower.exclusive;
    if (node.integer) {
      lo = loIn ? Math.ceil(lo) : Math.floor(lo) + 1;
      loIn = true;
    }
  }
  if (upper !== null && (upper.value < hi || (upper.value === hi && upper.exclusive))) {
    hi = upper.value;
    hiIn = !upper.exclusive;
    if (node.integer) {
      hi = hiIn ? Math.floor(hi) : Math.ceil(hi) - 1;
      hiIn = true;
    }
  }
  return lo < hi || (lo === hi && loIn && hiIn);
}

class LiteralFrame implements Frame {
  readonly canEnd: boolean;
  readonly isFinal: boolean;

  constructor(readonly trie: LiteralTrie) {
    this.canEnd = trie.payload >= 0;
    this.isFinal = this.canEnd && trie.children.size === 0;
  }

  nextChars(): Iterable<number> {
    return this.trie.children.keys();
  }

  step(ch: number, self: Stack, out: Stack[]): void {
    const next = this.trie.children.get(ch);
    if (next !== undefined) {
      replaceTop(self, new LiteralFrame(next), out);
    }
  }
}

const TAB = 0x09;
const NEWLINE = 0x0a;
/** Bytes bare text may hold: tab, newline, printable ASCII, and UTF-8 lead bytes. */
const TEXT_FIRST_BYTES = [TAB, NEWLINE, ...Array.from({ length: 0x80 - SPACE }, (_, i) => SPACE + i), ...Array.from({ length: 0xf5 - 0xc2 }, (_, i) => 0xc2 + i)];

/** Sequence position `index`: the items before it are read. */
class SequenceFrame implements Frame {
  readonly canEnd: boolean;
  readonly isFinal: boolean;

  constructor(
    readonly node: SequenceNode,
    readonly index: number,
  ) {
    this.canEnd = node.items.slice(index).every((item) => item.optional);
    this.isFinal = index === node.items.length;
  }

  step(ch: number, self: Stack, out: Stack[]): void {
    const items = this.node.items;
    for (let i = this.index; i < items.length; i++) {
      if (canStart(items[i].node, ch)) {
        startValue(items[i].node, ch, { frame: new SequenceFrame(this.node, i + 1), parent: self.parent, depth: self.depth }, out);
      }
      if (!items[i].optional) {
        return;
      }
    }
  }

  nextChars(): Iterable<number> | null {
    const chars = new Set<number>();
    for (let i = this.index; i < this.node.items.length; i++) {
      for (const ch of firstChars(this.node.items[i].node)) {
        chars.add(ch);
      }
      if (!this.node.items[i].optional) {
        break;
      }
    }
    return chars;
  }
}

const terminatorBytes = new WeakMap<TextNode, Uint8Array>();

/**
 * Bare text that must not spell its terminator: `matched` is how many bytes of the terminator the
 * text currently ends with (a naive search suffices: terminators are short tags).
 */
class TextFrame implements Frame {
  readonly canEnd: boolean;
  readonly isFinal = false;

  constructor(
    readonly node: TextNode,
    readonly count: number,
    readonly matched: number,
    readonly utf8: Utf8Lead | null,
  ) {
    this.canEnd = count > 0 && utf8 === null;
  }

  nextChars(): Iterable<number> | null {
    return null;
  }

  step(ch: number, self: Stack, out: Stack[]): void {
    let utf8: Utf8Lead | null = null;
    let count = this.count;
    if (this.utf8 !== null) {
      const { need, lo, hi } = this.utf8;
      if (ch < lo || ch > hi) {
        return;
      }
      utf8 = need > 1 ? { need: need - 1, lo: 0x80, hi: 0xbf } : null;
    } else if (count >= this.node.maxLength) {
      return;
    } else if (ch >= 0x80) {
      utf8 = utf8Lead(ch);
      if (utf8 === null) {
        return;
      }
      count++;
    } else if (ch === TAB || ch === NEWLINE || ch >= SPACE) {
      count++;
    } else {
      return;
    }
    const matched = this.advanceMatch(ch);
    if (matched < 0) {
      return;
    }
    replaceTop(self, new TextFrame(this.node, count, matched, utf8), out);
  }

  /** The terminator bytes the text ends with after `ch`, or -1 when `ch` would complete it. */
  private advanceMatch(ch: number): number {
    let bytes = terminatorBytes.get(this.node);
    if (bytes === undefined) {
      bytes = new TextEncoder().encode(this.node.terminator);
      terminatorBytes.set(this.node, bytes);
    }
    // Longest k such that the terminator's first k bytes end the text: try from the longest candidate down.
    for (let k = Math.min(this.matched + 1, bytes.length); k > 0; k--) {
      if (bytes[k - 1] !== ch) {
        continue;
      }
      let fits = true;
      for (let j = 0; j < k - 1 && fits; j++) {
        // The k-1 bytes before ch are the terminator's, as the previous match spelled them.
        fits = bytes[j] === bytes[this.matched - (k - 1) + j];
      }
      if (fits) {
        return k === bytes.length ? -1 : k;
      }
    }
    return 0;
  }
}

/** Configurations before the first byte of a value of `root`. */
export function initialStates(root: GrammarNode): Stack[] {
  const out: Stack[] = [];
  enter(root, null, out);
  return out;
}

/**
 * Consumes one byte. A finished value (a closed container, a number followed by a delimiter)
 * hands the byte to its parent; for valid JSON the frame and its parent never both accept the
 * same byte, so this stays deterministic apart from anyOf.
 */
function advance(stack: Stack, ch: number, out: Stack[]): void {
  stack.frame.step(ch, stack, out);
  if (stack.frame.canEnd && stack.parent !== null) {
    advance(stack.parent, ch, out);
  }
}

export function stepAll(states: readonly Stack[], ch: number): Stack[] {
  const out: Stack[] = [];
  for (const state of states) {
    advance(state, ch, out);
  }
  return out;
}

/** Feeds a token's bytes; returns the empty list as soon as no configuration survives. */
export function stepBytes(states: readonly Stack[], bytes: Uint8Array): Stack[] {
  let current = states as Stack[];
  for (let i = 0; i < bytes.length && current.length > 0; i++) {
    current = stepAll(current, bytes[i]);
  }
  return current;
}

/** Whether every frame from `stack` to the root satisfies `test`. */
function wholeChain(stack: Stack, test: (frame: Frame) => boolean): boolean {
  for (let at: Stack | null = stack; at !== null; at = at.parent) {
    if (!test(at.frame)) {
      return false;
    }
  }
  return true;
}

/**
 * Some configuration has read one complete top-level value. A finished item of a sequence is
 * still on top of the sequence, which ends too when the items after it may be left out.
 */
export function canEnd(states: readonly Stack[]): boolean {
  return states.some((s) => wholeChain(s, (frame) => frame.canEnd));
}

/** Every configuration has read a complete top-level value that admits no further character. */
export function isComplete(states: readonly Stack[]): boolean {
  return states.length > 0 && states.every((s) => wholeChain(s, (frame) => frame.isFinal));
}

/**
 * A superset of the characters any configuration accepts next (a finished value adds its
 * parent's), or null when some configuration accepts too many to list.
 */
export function candidateChars(states: readonly Stack[]): Set<number> | null {
  const chars = new Set<number>();
  for (const state of states) {
    for (let stack: Stack | null = state; stack !== null; stack = stack.frame.canEnd ? stack.parent : null) {
      const next = stack.frame.nextChars();
      if (next === null) {
        return null;
      }
      for (const ch of next) {
        chars.add(ch);
      }
    }
  }
  return chars;
}

/** The free-string budget when the single configuration sits between characters of a string body, else -1. */
export function stringBodyBudget(states: readonly Stack[]): number {
  if (states.length !== 1) {
    return -1;
  }
  const frame = states[0].frame;
  return frame instanceof StringFrame ? frame.bodyBudget : -1;
}
