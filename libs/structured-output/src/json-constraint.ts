import { candidateChars, canEnd, initialStates, isComplete, Stack, stepAll, stepBytes, stringBodyBudget } from './automaton';
import { ConstraintViolationError } from './errors';
import { anyObjectNode, anyValueNode, compileSchema, ConstraintLimits, DEFAULT_LIMITS, GrammarNode } from './grammar';
import { TokenVocabulary, VocabularyIndex } from './vocabulary';

/** Above this many children a trie node is entered through `candidateChars` instead of by trying each child. */
const WIDE_NODE = 32;

/** A set of token ids as a bitset: bit `id & 31` of word `id >>> 5`. */
export type TokenMask = Uint32Array;

export type JsonConstraintOptions = Partial<ConstraintLimits>;

/**
 * Forces a generator to emit one JSON value of a schema (or any JSON object): before each
 * decode step ask `allowedTokens()`, mask the logits with it, sample, then `accept` the token.
 * The output is compact: no whitespace except at most one space after ':' and ','.
 */
export class JsonConstraint {
  private states: Stack[];
  private finished = false;

  private constructor(
    private readonly index: VocabularyIndex,
    root: GrammarNode,
  ) {
    this.states = initialStates(root);
  }

  /** @throws UnsupportedSchemaError when the schema uses a construct the automaton cannot enforce. */
  static forSchema(schema: unknown, vocab: TokenVocabulary, options: JsonConstraintOptions = {}): JsonConstraint {
    const limits = { ...DEFAULT_LIMITS, ...options };
    return new JsonConstraint(VocabularyIndex.of(vocab), compileSchema(schema, limits));
  }

  /** Any grammar built here (a forced call in a markup format): the same masking, for output that is not one JSON value. */
  static forGrammar(root: GrammarNode, vocab: TokenVocabulary): JsonConstraint {
    return new JsonConstraint(VocabularyIndex.of(vocab), root);
  }

  /** `response_format: json_object`: any JSON object. */
  static anyObject(vocab: TokenVocabulary, options: JsonConstraintOptions = {}): JsonConstraint {
    const limits = { ...DEFAULT_LIMITS, ...options };
    return new JsonConstraint(VocabularyIndex.of(vocab), anyObjectNode(anyValueNode(limits), limits));
  }

  /** Tokens that keep the output a prefix of a valid value; EOS only once the value is complete. */
  allowedTokens(): TokenMask {
    const index = this.index;
    const mask = new Uint32Array((index.size + 31) >>> 5);
    if (this.finished) {
      return mask;
    }
    if (canEnd(this.states)) {
      for (const id of index.eosTokenIds) {
        setBit(mask, id);
      }
    }
    const budget = stringBodyBudget(this.states);
    if (budget >= 0) {
      this.maskInsideString(budget, mask);
    } else {
      this.walk(0, this.states, mask);
    }
    return mask;
  }

  /** Advances past a sampled token. @throws ConstraintViolationError if the mask did not allow it. */
  accept(tokenId: number): void {
    const index = this.index;
    const bytes = index.bytes[tokenId] ?? new Uint8Array(0);
    const violation = () => new ConstraintViolationError(tokenId, new TextDecoder().decode(bytes));
    if (this.finished) {
      throw violation();
    }
    if (index.eosTokenIds.includes(tokenId)) {
      if (!canEnd(this.states)) {
        throw violation();
      }
      this.finished = true;
      return;
    }
    const next = bytes.length === 0 ? [] : stepBytes(this.states, bytes);
    if (next.length === 0) {
      throw violation();
    }
    this.states = next;
  }

  /** The value is closed and nothing but EOS can follow (a generator may stop without sampling EOS). */
  isComplete(): boolean {
    return this.finished || isComplete(this.states);
  }

  /** The text so far is a complete value, though it might still grow (a number can take more digits). */
  canEnd(): boolean {
    return this.finished || canEnd(this.states);
  }

  private walk(node: number, states: Stack[], mask: TokenMask): void {
    const index = this.index;
    const candidates = index.childCount[node] > WIDE_NODE ? candidateChars(states) : null;
    if (candidates !== null) {
      // The root and the space node have ~20k children; look up the few characters that can follow.
      for (const ch of candidates) {
        const child = index.child(node, ch);
        if (child !== -1) {
          this.visit(child, states, mask);
        }
      }
      return;
    }
    for (let child = index.firstChild[node]; child !== -1; child = index.nextSibling[child]) {
      this.visit(child, states, mask);
    }
  }

  private visit(child: number, states: Stack[], mask: TokenMask): void {
    const { firstChild, nodeChar, firstToken, nextToken } = this.index;
    const next = stepAll(states, nodeChar[child]);
    if (next.length === 0) {
      return;
    }
    for (let id = firstToken[child]; id !== -1; id = nextToken[id]) {
      setBit(mask, id);
    }
    if (firstChild[child] !== -1) {
      this.walk(child, next, mask);
    }
  }

  /** Every plain token short enough fits the string; only the other tokens need the automaton. */
  private maskInsideString(budget: number, mask: TokenMask): void {
    const { plainByLength, plainUpTo, specialIds, bytes } = this.index;
    const fitting = plainUpTo[Math.min(budget, plainUpTo.length - 1)];
    for (let i = 0; i < fitting; i++) {
      setBit(mask, plainByLength[i]);
    }
    for (let i = 0; i < specialIds.length; i++) {
      const id = specialIds[i];
      if (stepBytes(this.states, bytes[id]).length > 0) {
        setBit(mask, id);
      }
    }
  }
}

function setBit(mask: TokenMask, id: number): void {
  mask[id >>> 5] |= 1 << (id & 31);
}

export function isTokenAllowed(mask: TokenMask, id: number): boolean {
  return (mask[id >>> 5] & (1 << (id & 31))) !== 0;
}

/** The allowed ids in ascending order. */
export function allowedTokenIds(mask: TokenMask): Int32Array {
  const ids = new Int32Array(mask.length << 5);
  let n = 0;
  for (let word = 0; word < mask.length; word++) {
    // `| 0` keeps the word a small integer; a uint32 above 2^31 would push V8 onto doubles.
    const bits = mask[word] | 0;
    if (bits !== 0) {
      for (let bit = 0; bit < 32; bit++) {
        if ((bits >>> bit) & 1) {
          ids[n++] = (word << 5) + bit;
        }
      }
    }
  }
  return ids.slice(0, n);
}

/**
 * An additive logits bias: 0 where allowed, -Infinity elsewhere. `vocabSize` is the model's
 * logits width, which is often padded beyond the tokenizer's size; the padding is disallowed.
 */
export function toLogitsMask(mask: TokenMask, vocabSize: number): Float32Array {
  const bias = new Float32Array(vocabSize).fill(-Infinity);
  for (const id of allowedTokenIds(mask)) {
    if (id < vocabSize) {
      bias[id] = 0;
    }
  }
  return bias;
}
