import { readFile } from 'node:fs/promises';
import { InvalidModelConfigError } from '../../io/errors';

/**
 * F5-TTS's character vocabulary (vocab.txt: one token a line, its index the id; the Emilia vocabulary
 * holds characters and pinyin syllables). Text becomes one id per character, unknown characters the id
 * of index 0 (a space), as f5-tts-mlx's list_str_to_idx maps them.
 */
export class F5Vocabulary {
  private constructor(private readonly ids: ReadonlyMap<string, number>) {}

  static async load(path: string): Promise<F5Vocabulary> {
    const lines = (await readFile(path, 'utf8')).split('\n');
    // The file ends with a newline; the empty string after it is no token.
    if (lines[lines.length - 1] === '') {
      lines.pop();
    }
    if (lines.length === 0) {
      throw new InvalidModelConfigError(path, 'the vocabulary is empty');
    }
    const ids = new Map<string, number>();
    lines.forEach((token, id) => {
      if (!ids.has(token)) {
        ids.set(token, id);
      }
    });
    return new F5Vocabulary(ids);
  }

  /** One past the largest id: the character embedding needs this many rows and one for the filler. */
  get size(): number {
    return Math.max(...this.ids.values()) + 1;
  }

  /**
   * The ids of `text`, normalised as F5's convert_char_to_pinyin does for text in Latin script: curly
   * quotes made straight and `;` a comma. (Chinese characters are looked up as themselves: the pinyin
   * conversion F5 applies to them needs a word segmenter and a pinyin dictionary this server does not have.)
   */
  encode(text: string): number[] {
    return [...normalise(text)].map((char) => this.ids.get(char) ?? 0);
  }
}

function normalise(text: string): string {
  return text.replace(/[“”]/g, '"').replace(/[‘’]/g, "'").replace(/;/g, ',');
}

/** Chinese pauses, which F5's duration heuristic counts as three more bytes each. */
const PAUSES = /[。，、；：？！]/gu;

/** A text's length in F5's duration heuristic: its UTF-8 bytes plus 3 per Chinese pause. */
export function spokenLength(text: string): number {
  return Buffer.byteLength(text, 'utf8') + 3 * (text.match(PAUSES)?.length ?? 0);
}

/**
 * The reference transcript as F5's inference prepares it (SWivid's preprocess_ref_audio_text): ending
 * in a full stop and a space, so the new text starts a sentence after it.
 */
export function referencePrefix(transcript: string): string {
  const text = transcript.trim();
  if (text.endsWith('。')) {
    return text;
  }
  return text.endsWith('.') ? `${text} ` : `${text}. `;
}

/**
 * The input cut into pieces of at most `maxBytes` UTF-8 bytes, as SWivid's chunk_text: split after
 * sentence and clause punctuation (and at line breaks), consecutive pieces joined while they fit. A
 * piece that alone exceeds the limit is cut between words (between characters when it has no spaces),
 * so that no generation outgrows the model's 4,096 frames.
 */
export function chunkText(input: string, maxBytes: number): string[] {
  const pieces = input
    .split(/(?<=[;:,.!?])\s+|(?<=[；：，。！？])|\n+/u)
    .map((piece) => piece.trim())
    .filter((piece) => piece !== '');
  return joinWhileFits(
    pieces.flatMap((piece) => splitLong(piece, maxBytes)),
    ' ',
    maxBytes,
  );
}

const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

/** A piece over the limit cut between words, and a word over it between characters. */
function splitLong(piece: string, maxBytes: number): string[] {
  if (byteLength(piece) <= maxBytes) {
    return [piece];
  }
  const words = piece.split(/\s+/);
  if (words.length === 1) {
    return joinWhileFits([...piece], '', maxBytes);
  }
  return joinWhileFits(
    words.flatMap((word) => splitLong(word, maxBytes)),
    ' ',
    maxBytes,
  );
}

/** Consecutive units joined by `separator` as long as the result stays within `maxBytes`. */
function joinWhileFits(units: readonly string[], separator: string, maxBytes: number): string[] {
  const out: string[] = [];
  let current = '';
  for (const unit of units) {
    const joined = current === '' ? unit : current + separator + unit;
    if (current !== '' && byteLength(joined) > maxBytes) {
      out.push(current);
      current = unit;
    } else {
      current = joined;
    }
  }
  if (current !== '') {
    out.push(current);
  }
  return out;
}
