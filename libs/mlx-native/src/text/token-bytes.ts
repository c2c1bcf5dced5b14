import { TokenizerLoadError } from './errors';

/**
 * How one token's piece (its string in the vocabulary) becomes output bytes, derived from the
 * `decoder` of tokenizer.json. Working per token in bytes, rather than re-decoding strings, is
 * what lets the streaming detokenizer emit text the moment it is final and hold back exactly the
 * bytes of an unfinished multi-byte character.
 */
export interface PieceDecoding {
  /** GPT-2 style byte-level BPE (Qwen, Llama 3): every piece character stands for one byte. */
  readonly byteLevel: boolean;
  /** SentencePiece conversions: `▁` → space, and similar literal replacements, in order. */
  readonly replacements: ReadonlyArray<readonly [from: string, to: string]>;
  /** `<0xNN>` pieces stand for the raw byte NN (SentencePiece byte-fallback). */
  readonly byteFallback: boolean;
  /** Leading characters removed once from the start of the whole decoded text (the `▁` prefix SentencePiece adds). */
  readonly stripLeading: { readonly char: string; readonly count: number } | null;
}

interface DecoderConfig {
  type: string;
  decoders?: DecoderConfig[];
  pattern?: { String?: string; Regex?: string };
  content?: string;
  start?: number;
  stop?: number;
  replacement?: string;
  prepend_scheme?: 'always' | 'first' | 'never';
  add_prefix_space?: boolean;
}

/** Reads the decoder section of tokenizer.json; rejects decoders whose output cannot be produced token by token. */
export function pieceDecodingFromConfig(decoder: DecoderConfig | null | undefined): PieceDecoding {
  const result = {
    byteLevel: false,
    replacements: [] as Array<[string, string]>,
    byteFallback: false,
    stripLeading: null as PieceDecoding['stripLeading'],
  };
  const steps = !decoder ? [] : decoder.type === 'Sequence' ? (decoder.decoders ?? []) : [decoder];
  for (const step of steps) {
    switch (step.type) {
      case 'ByteLevel':
        result.byteLevel = true;
        break;
      case 'Replace':
        if (step.pattern?.String === undefined || step.content === undefined) {
          throw new TokenizerLoadError(`tokenizer.json decoder Replace with a regex pattern is not supported`);
        }
        result.replacements.push([step.pattern.String, step.content]);
        break;
      case 'ByteFallback':
        result.byteFallback = true;
        break;
      case 'Fuse':
        // Joining the pieces into one string is what byte-wise concatenation already does.
        break;
      case 'Strip':
        if ((step.stop ?? 0) > 0) {
          // Trailing text can only be stripped once the end is known, which a stream never knows.
          throw new TokenizerLoadError(`tokenizer.json decoder Strip with stop > 0 is not supported`);
        }
        if ((step.start ?? 0) > 0) {
          result.stripLeading = { char: step.content ?? ' ', count: step.start ?? 0 };
        }
        break;
      case 'Metaspace': {
        const replacement = step.replacement ?? '\u2581';
        result.replacements.push([replacement, ' ']);
        const prepends = step.prepend_scheme !== undefined ? step.prepend_scheme !== 'never' : step.add_prefix_space !== false;
        if (prepends) {
          result.stripLeading = { char: ' ', count: 1 };
        }
        break;
      }
      default:
        throw new TokenizerLoadError(`tokenizer.json decoder type '${step.type}' is not supported`);
    }
  }
  if (result.byteLevel && (result.replacements.length > 0 || result.byteFallback)) {
    throw new TokenizerLoadError('tokenizer.json decoder mixes ByteLevel with SentencePiece steps, which is not supported');
  }
  return result;
}

const utf8 = new TextEncoder();

/**
 * GPT-2's byte ↔ printable-character table: printable Latin-1 bytes stand for themselves, the other
 * 68 bytes are shifted to code points from 256 up, in byte order.
 */
const BYTE_LEVEL_CHAR_TO_BYTE: ReadonlyMap<number, number> = (() => {
  const map = new Map<number, number>();
  let shifted = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
    map.set(printable ? byte : shifted++, byte);
  }
  return map;
})();

const BYTE_FALLBACK_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * The bytes a token contributes to decoded text. `added` marks tokens from `added_tokens`, whose
 * content is literal text rather than a byte-level encoding of it.
 */
export function pieceToBytes(piece: string, added: boolean, decoding: PieceDecoding): Uint8Array {
  if (decoding.byteLevel) {
    if (added) {
      return utf8.encode(piece);
    }
    const bytes: number[] = [];
    for (const char of piece) {
      const byte = BYTE_LEVEL_CHAR_TO_BYTE.get(char.codePointAt(0) ?? -1);
      if (byte === undefined) {
        // A vocabulary entry outside the byte alphabet can only be meant literally.
        bytes.push(...utf8.encode(char));
      } else {
        bytes.push(byte);
      }
    }
    return Uint8Array.from(bytes);
  }
  if (decoding.byteFallback && !added) {
    const match = BYTE_FALLBACK_PIECE.exec(piece);
    if (match) {
      return Uint8Array.of(parseInt(match[1], 16));
    }
  }
  let text = piece;
  for (const [from, to] of decoding.replacements) {
    text = text.replaceAll(from, to);
  }
  return utf8.encode(text);
}
