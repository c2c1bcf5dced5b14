import { isPlainAsciiByte, utf8Lead } from './automaton';

/** What the constraint needs to know about a tokenizer. */
export interface TokenVocabulary {
  /** Number of token ids, including special tokens. */
  readonly size: number;
  /**
   * The text a token contributes when decoded in context; special tokens return ''. Used when
   * `tokenBytes` is absent; a text holding U+FFFD (part of a UTF-8 sequence decoded alone) is
   * then never offered, since what the token really spells is unknown.
   */
  tokenText(id: number): string;
  /**
   * The UTF-8 bytes a token contributes, empty for special tokens. With it, tokens holding part
   * of a multi-byte character are offered inside strings, where the following tokens can
   * complete the character.
   */
  tokenBytes?(id: number): Uint8Array;
  /** Tokens that end generation; allowed exactly when the JSON value is complete. */
  readonly eosTokenIds: readonly number[];
}

/**
 * Per-vocabulary tables, built once (about half a second for 150k-262k tokens) and cached on the
 * vocabulary object. The trie lets a mask be computed by walking it with the automaton and
 * pruning a whole subtree at its first invalid character. Inside a free string nearly every
 * token is valid, so walking would visit the whole trie; the plain-token tables answer that
 * state directly instead.
 */
export class VocabularyIndex {
  private static readonly cache = new WeakMap<TokenVocabulary, VocabularyIndex>();

  /** Bytes of each offered token; empty for tokens never offered (special, EOS, unknown text). */
  readonly bytes: Uint8Array[];
  /** Trie as linked lists: node 0 is the root; -1 ends a list. */
  readonly firstChild: Int32Array;
  readonly nextSibling: Int32Array;
  readonly nodeChar: Int32Array;
  readonly childCount: Int32Array;
  /** Tokens whose text ends at a node, linked through `nextToken` (indexed by token id). */
  readonly firstToken: Int32Array;
  readonly nextToken: Int32Array;
  /** Tokens of whole characters a string holds unescaped, by ascending length in characters. */
  readonly plainByLength: Int32Array;
  /** plainUpTo[n]: how many of `plainByLength` have at most n code points. */
  readonly plainUpTo: Int32Array;
  /**
   * Tokens that may still fit inside a string body but are not plain: a quote, a backslash or a
   * partial character comes before any control character. Those whose first non-plain byte is
   * a control character can never continue a string and are left out.
   */
  readonly specialIds: Int32Array;
  readonly eosTokenIds: readonly number[];
  readonly size: number;
  private readonly childMaps = new Map<number, Map<number, number>>();

  static of(vocab: TokenVocabulary): VocabularyIndex {
    let index = VocabularyIndex.cache.get(vocab);
    if (!index) {
      index = new VocabularyIndex(vocab);
      VocabularyIndex.cache.set(vocab, index);
    }
    return index;
  }

  private constructor(vocab: TokenVocabulary) {
    this.size = vocab.size;
    this.eosTokenIds = [...vocab.eosTokenIds];
    const eos = new Set(vocab.eosTokenIds);
    const bytes: Uint8Array[] = new Array<Uint8Array>(vocab.size);
    const plainLength = new Int32Array(vocab.size);
    const offered: number[] = [];
    const plain: number[] = [];
    const special: number[] = [];
    let totalBytes = 0;
    for (let id = 0; id < vocab.size; id++) {
      const tokenBytes = eos.has(id) ? NO_BYTES : bytesOf(vocab, id);
      bytes[id] = tokenBytes;
      if (tokenBytes.length === 0) {
        continue;
      }
      totalBytes += tokenBytes.length;
      offered.push(id);
      plainLength[id] = plainCharacters(tokenBytes);
      if (plainLength[id] >= 0) {
        plain.push(id);
      } else if (plainLength[id] === NOT_PLAIN) {
        special.push(id);
      }
    }
    this.bytes = bytes;
    this.specialIds = Int32Array.from(special);

    plain.sort((a, b) => plainLength[a] - plainLength[b]);
    this.plainByLength = Int32Array.from(plain);
    const longest = plain.length === 0 ? 0 : plainLength[plain[plain.length - 1]];
    this.plainUpTo = new Int32Array(longest + 1);
    for (let i = 0, n = 0; n <= longest; n++) {
      while (i < plain.length && plainLength[plain[i]] <= n) {
        i++;
      }
      this.plainUpTo[n] = i;
    }

    // Sorted byte strings share prefixes with their predecessor, so the trie is built along one path.
    const keys = bytes.map((b) => String.fromCharCode(...b));
    offered.sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0));
    const capacity = totalBytes + 1;
    this.firstChild = new Int32Array(capacity).fill(-1);
    this.nextSibling = new Int32Array(capacity).fill(-1);
    this.nodeChar = new Int32Array(capacity);
    this.childCount = new Int32Array(capacity);
    this.firstToken = new Int32Array(capacity).fill(-1);
    this.nextToken = new Int32Array(vocab.size).fill(-1);
    const path = [0];
    let previous: Uint8Array = NO_BYTES;
    let nodes = 1;
    for (const id of offered) {
      const token = bytes[id];
      let common = 0;
      while (common < token.length && common < previous.length && token[common] === previous[common]) {
        common++;
      }
      path.length = common + 1;
      for (let d = common; d < token.length; d++) {
        const parent = path[d];
        const node = nodes++;
        this.nodeChar[node] = token[d];
        this.nextSibling[node] = this.firstChild[parent];
        this.firstChild[parent] = node;
        this.childCount[parent]++;
        path.push(node);
      }
      const end = path[token.length];
      this.nextToken[id] = this.firstToken[end];
      this.firstToken[end] = id;
      previous = token;
    }
  }

  /** The child of `node` reached by `ch`, or -1; indexed on first use, for nodes with wide fan-out. */
  child(node: number, ch: number): number {
    let map = this.childMaps.get(node);
    if (!map) {
      map = new Map();
      for (let child = this.firstChild[node]; child !== -1; child = this.nextSibling[child]) {
        map.set(this.nodeChar[child], child);
      }
      this.childMaps.set(node, map);
    }
    return map.get(ch) ?? -1;
  }
}

const NO_BYTES = new Uint8Array(0);
const UTF8 = new TextEncoder();

function bytesOf(vocab: TokenVocabulary, id: number): Uint8Array {
  if (vocab.tokenBytes) {
    return vocab.tokenBytes(id);
  }
  const text = vocab.tokenText(id);
  return text.includes('\uFFFD') ? NO_BYTES : UTF8.encode(text);
}

const NOT_PLAIN = -1;
const NEVER_IN_STRING = -2;

/**
 * Characters in a token made only of whole characters a string holds unescaped; otherwise
 * NEVER_IN_STRING when its first other byte is a control character, else NOT_PLAIN.
 */
function plainCharacters(bytes: Uint8Array): number {
  let characters = 0;
  for (let i = 0; i < bytes.length; characters++) {
    const byte = bytes[i++];
    if (byte < 0x80) {
      if (!isPlainAsciiByte(byte)) {
        return byte < 0x20 ? NEVER_IN_STRING : NOT_PLAIN;
      }
      continue;
    }
    const lead = utf8Lead(byte);
    if (lead === null || i + lead.need > bytes.length || bytes[i] < lead.lo || bytes[i] > lead.hi) {
      return NOT_PLAIN;
    }
    for (let k = 1; k < lead.need; k++) {
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) {
        return NOT_PLAIN;
      }
    }
    i += lead.need;
  }
  return characters;
}
