import type { PieceDecoding } from './token-bytes';

/** Turns generated token ids into text deltas, one token at a time. */
export interface StreamingDetokenizer {
  /** Adds one token; returns the text that became final with it (often '' mid-character). */
  push(tokenId: number): string;
  /** Ends the stream; returns what was held back. Bytes that never formed a character come out as U+FFFD. */
  flush(): string;
}

/** What the detokenizer needs to know about a vocabulary. */
export interface DetokenizerSource {
  tokenBytes(tokenId: number): Uint8Array;
  isSpecialToken(tokenId: number): boolean;
  readonly pieceDecoding: PieceDecoding;
}

/**
 * Concatenates token bytes and decodes them with a streaming UTF-8 decoder, which holds back an
 * incomplete trailing character until its last byte arrives and replaces only bytes that can never
 * form one. The concatenated deltas therefore equal a one-shot decode of the same tokens whenever
 * the bytes are valid UTF-8, whether a character spans two byte-level BPE tokens or four
 * SentencePiece `<0xNN>` tokens.
 */
export function createStreamingDetokenizer(
  source: DetokenizerSource,
  { skipSpecialTokens = true }: { skipSpecialTokens?: boolean } = {},
): StreamingDetokenizer {
  // ignoreBOM: a U+FEFF the model generates is text (code files start with it), not a marker to drop.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const strip = source.pieceDecoding.stripLeading;
  let leftToStrip = strip?.count ?? 0;
  // The SentencePiece prefix space belongs to the very first character of the output, so only
  // text before anything else has been emitted may lose it.
  let started = false;

  const emit = (text: string): string => {
    if (started || text === '') {
      return text;
    }
    let from = 0;
    while (strip && leftToStrip > 0 && text[from] === strip.char) {
      from++;
      leftToStrip--;
    }
    const rest = text.slice(from);
    started = rest !== '';
    return rest;
  };

  return {
    push(tokenId) {
      if (skipSpecialTokens && source.isSpecialToken(tokenId)) {
        return '';
      }
      return emit(decoder.decode(source.tokenBytes(tokenId), { stream: true }));
    },
    flush() {
      return emit(decoder.decode());
    },
  };
}
