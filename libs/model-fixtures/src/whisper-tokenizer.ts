/**
 * A tokenizer.json in the layout of Hugging Face's openai/whisper-* repos: a GPT-2 style byte-level
 * BPE (ids 0 … eot−1) and, as added tokens, end-of-text, start-of-transcript, the language tokens,
 * the task and control tokens and the 1,501 timestamps, at the ids a model's vocabulary size implies.
 * The text vocabulary is generated (bytes, then letter sequences with and without a leading space,
 * each made by a merge of a shorter one and a letter) and filled to the real size, so every id a
 * random model emits decodes to real text and English still tokenizes into multi-letter pieces.
 */

/** GPT-2's printable stand-in for each byte, in byte order. */
function byteAlphabet(): string[] {
  const chars: string[] = [];
  let shifted = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
    chars.push(String.fromCodePoint(printable ? byte : shifted++));
  }
  return chars;
}

const LANGUAGE_CODES = [
  'en', 'zh', 'de', 'es', 'ru', 'ko', 'fr', 'ja', 'pt', 'tr', 'pl', 'ca', 'nl', 'ar', 'sv', 'it', 'id', 'hi', 'fi', 'vi',
  'he', 'uk', 'el', 'ms', 'cs', 'ro', 'da', 'hu', 'ta', 'no', 'th', 'ur', 'hr', 'bg', 'lt', 'la', 'mi', 'ml', 'cy', 'sk',
  'te', 'fa', 'lv', 'bn', 'sr', 'az', 'sl', 'kn', 'et', 'mk', 'br', 'eu', 'is', 'hy', 'ne', 'mn', 'bs', 'kk', 'sq', 'sw',
  'gl', 'mr', 'pa', 'si', 'km', 'sn', 'yo', 'so', 'af', 'oc', 'ka', 'be', 'tg', 'sd', 'gu', 'am', 'yi', 'lo', 'uz', 'fo',
  'ht', 'ps', 'tk', 'nn', 'mt', 'sa', 'lb', 'my', 'bo', 'tl', 'mg', 'as', 'tt', 'haw', 'ln', 'ha', 'ba', 'jw', 'su', 'yue',
];

/** The three Whisper vocabulary layouts: text tokens before end-of-text, languages, and the name of the no-speech token. */
function layoutOf(vocabSize: number): { textTokens: number; languages: number; noSpeechName: string } {
  switch (vocabSize) {
    case 51864:
      return { textTokens: 50256, languages: 99, noSpeechName: '<|nocaptions|>' };
    case 51865:
      return { textTokens: 50257, languages: 99, noSpeechName: '<|nocaptions|>' };
    case 51866:
      return { textTokens: 50257, languages: 100, noSpeechName: '<|nospeech|>' };
    default:
      throw new Error(`no Whisper tokenizer has a vocabulary of ${vocabSize}`);
  }
}

/** tokenizer.json, tokenizer_config.json and special_tokens_map.json for a Whisper vocabulary of `vocabSize` ids. */
export function whisperTokenizerFiles(vocabSize: number): Record<string, Buffer> {
  const { textTokens, languages, noSpeechName } = layoutOf(vocabSize);
  const bytes = byteAlphabet();
  const vocab: Record<string, number> = {};
  bytes.forEach((char, id) => (vocab[char] = id));
  const merges: string[] = [];
  const letters = [...'abcdefghijklmnopqrstuvwxyz'];
  const space = bytes[0x20];
  let frontier = [space, ...letters];
  let size = bytes.length;
  const add = (left: string, right: string): boolean => {
    if (size >= textTokens) {
      return false;
    }
    merges.push(`${left} ${right}`);
    vocab[left + right] = size++;
    return true;
  };
  // Breadth first: every piece of length k (with or without a leading space) before any of length k + 1.
  let full = false;
  while (!full) {
    const next: string[] = [];
    for (const piece of frontier) {
      for (const letter of letters) {
        if (!add(piece, letter)) {
          full = true;
          break;
        }
        next.push(piece + letter);
      }
      if (full) {
        break;
      }
    }
    frontier = next;
  }

  const specials = [
    '<|endoftext|>',
    '<|startoftranscript|>',
    ...LANGUAGE_CODES.slice(0, languages).map((code) => `<|${code}|>`),
    '<|translate|>',
    '<|transcribe|>',
    '<|startoflm|>',
    '<|startofprev|>',
    noSpeechName,
    '<|notimestamps|>',
  ];
  const added = [
    ...specials.map((content, i) => ({ id: textTokens + i, content, special: true })),
    ...Array.from({ length: 1501 }, (_, i) => ({ id: textTokens + specials.length + i, content: `<|${(i * 0.02).toFixed(2)}|>`, special: false })),
  ];
  if (added[added.length - 1].id !== vocabSize - 1) {
    throw new Error(`the generated layout ends at id ${added[added.length - 1].id}, not ${vocabSize - 1}`);
  }
  const addedTokens = added.map(({ id, content, special }) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special }));
  const byName = (name: string) => added.find((token) => token.content === name)!.id;
  const specialToken = (name: string) => ({ SpecialToken: { id: name, type_id: 0 } });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    // What transformers' WhisperTokenizerFast writes: the prefix tokens around a plain encode.
    post_processor: {
      type: 'TemplateProcessing',
      single: [specialToken('<|startoftranscript|>'), specialToken('<|notimestamps|>'), { Sequence: { id: 'A', type_id: 0 } }, specialToken('<|endoftext|>')],
      pair: [specialToken('<|startoftranscript|>'), specialToken('<|notimestamps|>'), { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, specialToken('<|endoftext|>')],
      special_tokens: Object.fromEntries(
        ['<|startoftranscript|>', '<|notimestamps|>', '<|endoftext|>'].map((name) => [name, { id: name, ids: [byName(name)], tokens: [name] }]),
      ),
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
  const config = {
    add_prefix_space: false,
    bos_token: '<|endoftext|>',
    eos_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
    errors: 'replace',
    model_max_length: 1024,
    tokenizer_class: 'WhisperTokenizer',
    clean_up_tokenization_spaces: true,
  };
  const specialMap = { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', pad_token: '<|endoftext|>', additional_special_tokens: specials.slice(1) };
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  return { 'tokenizer.json': json(tokenizer), 'tokenizer_config.json': json(config), 'special_tokens_map.json': json(specialMap) };
}
