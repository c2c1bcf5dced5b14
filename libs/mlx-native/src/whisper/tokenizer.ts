import { ModelLoadError } from '../io/errors';
import { ModelTokenizer } from '../text/model-tokenizer';
import { WHISPER_LANGUAGES } from './languages';

/** Whisper's special tokens, which follow the text vocabulary in a fixed order. */
export interface WhisperSpecialTokens {
  multilingual: boolean;
  numLanguages: number;
  eot: number;
  sot: number;
  translate: number;
  transcribe: number;
  sotLm: number;
  sotPrev: number;
  noSpeech: number;
  noTimestamps: number;
  /** `<|0.00|>`; timestamp i (i · 20 ms) is timestampBegin + i, up to `<|30.00|>`. */
  timestampBegin: number;
}

/** `<|0.00|>` … `<|30.00|>` in steps of 20 ms. */
const TIMESTAMP_TOKENS = 1501;

export class UnsupportedWhisperVocabularyError extends ModelLoadError {
  constructor(readonly vocabSize: number) {
    super(`n_vocab ${vocabSize} is not a Whisper vocabulary (51864 for .en models, 51865 multilingual, 51866 from large-v3 on)`);
  }
}

/**
 * The special-token ids of a vocabulary of `vocabSize` tokens, as mlx_whisper lays them out:
 * the text tokens, then end-of-text, start-of-transcript, one token per language, translate,
 * transcribe, start-of-LM, start-of-previous, no-speech, no-timestamps and the 1,501 timestamps.
 * Multilingual models have 99 languages (100 from large-v3), English-only ones 99 unused.
 */
export function whisperSpecialTokens(vocabSize: number): WhisperSpecialTokens {
  const multilingual = vocabSize >= 51865;
  const numLanguages = vocabSize - 51765 - (multilingual ? 1 : 0);
  if (numLanguages < 1 || numLanguages > WHISPER_LANGUAGES.length) {
    throw new UnsupportedWhisperVocabularyError(vocabSize);
  }
  const timestampBegin = vocabSize - TIMESTAMP_TOKENS;
  const translate = timestampBegin - 6;
  const sot = translate - numLanguages - 1;
  return {
    multilingual,
    numLanguages,
    eot: sot - 1,
    sot,
    translate,
    transcribe: translate + 1,
    sotLm: translate + 2,
    sotPrev: translate + 3,
    noSpeech: translate + 4,
    noTimestamps: translate + 5,
    timestampBegin,
  };
}

export type WhisperTask = 'transcribe' | 'translate';

const utf8 = new TextDecoder('utf-8');
const REPLACEMENT = '\ufffd';
/** Python's string.punctuation; openai/whisper tests `piece.strip() in` it, a substring test, kept as is. */
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
/** Languages written without spaces between words: their words are split at character boundaries. */
const UNSPACED_LANGUAGES = new Set(['zh', 'ja', 'th', 'lo', 'my', 'yue']);

/**
 * A Whisper model's tokenizer: the text vocabulary of a Hugging Face tokenizer.json and the special
 * tokens placed by the model's vocabulary size. Text is decoded from each token's bytes, so a
 * character split across tokens (or across segments) comes out whole when its tokens are joined.
 */
export class WhisperTokenizer {
  readonly special: WhisperSpecialTokens;

  constructor(
    private readonly text: ModelTokenizer,
    vocabSize: number,
  ) {
    this.special = whisperSpecialTokens(vocabSize);
  }

  /** Loads tokenizer.json from `dir` and checks that its special tokens sit where `vocabSize` puts them. */
  static async load(dir: string, vocabSize: number): Promise<WhisperTokenizer> {
    const tokenizer = new WhisperTokenizer(await ModelTokenizer.load(dir), vocabSize);
    const { eot, sot, translate, noTimestamps } = tokenizer.special;
    // Multilingual vocabularies differ only after the languages (large-v3 added one), so check both ends.
    for (const [token, expected] of [['<|endoftext|>', eot], ['<|startoftranscript|>', sot], ['<|translate|>', translate], ['<|notimestamps|>', noTimestamps]] as const) {
      const found = tokenizer.text.tokenId(token);
      if (found !== expected) {
        throw new ModelLoadError(
          `The tokenizer in ${dir} does not fit a model of ${vocabSize} tokens: ${token} is ${found ?? 'missing'}, the model expects ${expected}`,
        );
      }
    }
    return tokenizer;
  }

  /** Text to token ids, without special tokens (a prompt is encoded as " " + prompt, as openai/whisper does). */
  encode(text: string): number[] {
    return this.text.encode(text, { addSpecialTokens: false });
  }

  /** The text of `ids`, timestamps left out; other special tokens (should any be there) show as their names. */
  decode(ids: readonly number[]): string {
    return utf8.decode(this.bytes(ids.filter((id) => id < this.special.timestampBegin)));
  }

  /** The language codes the model knows, in token order. */
  get languageCodes(): string[] {
    return WHISPER_LANGUAGES.slice(0, this.special.numLanguages).map(([code]) => code);
  }

  /** Token of a language code the model knows; undefined for another. */
  languageToken(code: string): number | undefined {
    const index = this.languageCodes.indexOf(code);
    return index < 0 ? undefined : this.special.sot + 1 + index;
  }

  /**
   * What every window's decoding starts with: start-of-transcript, then for multilingual models
   * the language and the task. English-only models take neither, whatever was asked.
   */
  sotSequence(language: string, task: WhisperTask): number[] {
    const { sot, multilingual, transcribe, translate } = this.special;
    if (!multilingual) {
      return [sot];
    }
    const languageToken = this.languageToken(language);
    if (languageToken === undefined) {
      throw new RangeError(`language ${language} is not one this model knows`);
    }
    return [sot, languageToken, task === 'transcribe' ? transcribe : translate];
  }

  /**
   * Tokens of speaker tags and non-speech annotations (♪, [MUSIC], (laughs)...) suppressed while
   * decoding, as openai/whisper lists them: each symbol alone or after a space when it is one
   * token, the first token of the musical symbols (they share it), and " -" and " '" at word starts.
   */
  get nonSpeechTokens(): number[] {
    const symbols = [...'"#()*+/:;<=>@[\\]^_`{|}~「」『』', ...'<< >> <<< >>> -- --- -( -[ (\' (" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪'.split(' ')];
    const miscellaneous = [...'♩♪♫♬♭♮♯'];
    const result = new Set([this.encode(' -')[0], this.encode(" '")[0]]);
    for (const symbol of [...symbols, ...miscellaneous]) {
      for (const tokens of [this.encode(symbol), this.encode(` ${symbol}`)]) {
        if (tokens.length === 1 || miscellaneous.includes(symbol)) {
          result.add(tokens[0]);
        }
      }
    }
    return [...result].sort((a, b) => a - b);
  }

  /**
   * Splits tokens into words for word timestamps, as openai/whisper does: at spaces and
   * punctuation, or, for languages written without spaces, wherever the text so far is whole
   * characters.
   */
  splitToWordTokens(tokens: readonly number[], language: string): { words: string[]; wordTokens: number[][] } {
    const pieces = this.splitOnCharacters(tokens);
    if (UNSPACED_LANGUAGES.has(language)) {
      return pieces;
    }
    const words: string[] = [];
    const wordTokens: number[][] = [];
    pieces.words.forEach((piece, i) => {
      const group = pieces.wordTokens[i];
      const startsWord = group[0] >= this.special.eot || piece.startsWith(' ') || PUNCTUATION.includes(piece.trim()) || words.length === 0;
      if (startsWord) {
        words.push(piece);
        wordTokens.push([...group]);
      } else {
        words[words.length - 1] += piece;
        wordTokens[wordTokens.length - 1].push(...group);
      }
    });
    return { words, wordTokens };
  }

  /** Groups tokens so each group decodes to whole characters (a multi-byte character may take several tokens). */
  private splitOnCharacters(tokens: readonly number[]): { words: string[]; wordTokens: number[][] } {
    const full = utf8.decode(this.bytes(tokens));
    const words: string[] = [];
    const wordTokens: number[][] = [];
    let current: number[] = [];
    let offset = 0;
    for (const token of tokens) {
      current.push(token);
      const decoded = utf8.decode(this.bytes(current));
      const replacementAt = decoded.indexOf(REPLACEMENT);
      if (replacementAt < 0 || full[offset + replacementAt] === REPLACEMENT) {
        words.push(decoded);
        wordTokens.push(current);
        current = [];
        offset += decoded.length;
      }
    }
    return { words, wordTokens };
  }

  private bytes(ids: readonly number[]): Uint8Array {
    const parts = ids.map((id) => this.text.tokenBytes(id));
    const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
