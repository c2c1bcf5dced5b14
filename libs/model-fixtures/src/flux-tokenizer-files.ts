/**
 * Tokenizer files for the FLUX fixtures, in the formats the real repos ship: CLIP's vocab.json +
 * merges.txt (byte-level BPE with `</w>` word ends, laid out as openai/clip-vit-large-patch14's: the
 * 256 byte symbols, the same with `</w>`, one entry per merge, then the two specials) learned here on a
 * small corpus, and T5's sentencepiece unigram model as `spiece.model` (protobuf) and as the
 * `tokenizer.json` transformers converts it to.
 */

const CORPUS = [
  'a photo of a cat sitting on a red sofa in the sun',
  'an astronaut riding a horse on the moon, digital art',
  'a watercolor painting of a lighthouse at dusk with waves',
  'the quick brown fox jumps over the lazy dog',
  'a cute baby sea otter floating in the water',
  'portrait of an old man with a beard, oil painting, dramatic light',
  'a futuristic city skyline at night with neon signs and rain',
  'a bowl of fruit on a wooden table: apples, pears and grapes',
  'mountains covered in snow under a clear blue sky',
  "it's a small house in the forest, isn't it? 3 windows and 1 door",
].join(' ');

/** GPT-2's reversible byte → printable character map: the symbols in CLIP's vocabulary order, and each byte's symbol. */
function byteEncoder(): { symbols: string[]; charOf: string[] } {
  const printable: number[] = [];
  for (const [from, to] of [[33, 126], [161, 172], [174, 255]]) {
    for (let b = from; b <= to; b++) {
      printable.push(b);
    }
  }
  const bytes = [...printable];
  const symbols = printable.map((b) => String.fromCharCode(b));
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (!printable.includes(b)) {
      bytes.push(b);
      symbols.push(String.fromCharCode(256 + extra++));
    }
  }
  const charOf: string[] = new Array(256);
  bytes.forEach((b, i) => (charOf[b] = symbols[i]));
  return { symbols, charOf };
}

const CLIP_WORDS = /'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/gu;

/** CLIP's vocab.json and merges.txt with `merges` BPE merges learned on the corpus. */
export function clipVocabularyFiles(merges: number): { 'vocab.json': Buffer; 'merges.txt': Buffer } {
  const { symbols, charOf } = byteEncoder();
  const words = new Map<string, number>();
  for (const word of CORPUS.toLowerCase().match(CLIP_WORDS) ?? []) {
    words.set(word, (words.get(word) ?? 0) + 1);
  }
  const split = [...words.entries()].map(([word, count]) => {
    const chars = [...Buffer.from(word, 'utf8')].map((b) => charOf[b]);
    chars[chars.length - 1] += '</w>';
    return { chars, count };
  });
  const learned: Array<[string, string]> = [];
  while (learned.length < merges) {
    const pairs = new Map<string, number>();
    for (const { chars, count } of split) {
      for (let i = 0; i + 1 < chars.length; i++) {
        const key = `${chars[i]} ${chars[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    const best = [...pairs.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    if (best === undefined) {
      break;
    }
    const [left, right] = best[0].split(' ');
    learned.push([left, right]);
    for (const word of split) {
      const merged: string[] = [];
      for (let i = 0; i < word.chars.length; i++) {
        if (i + 1 < word.chars.length && word.chars[i] === left && word.chars[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(word.chars[i]);
        }
      }
      word.chars = merged;
    }
  }
  const vocabulary = [...symbols, ...symbols.map((s) => `${s}</w>`), ...learned.map(([l, r]) => l + r), '<|startoftext|>', '<|endoftext|>'];
  const vocab: Record<string, number> = {};
  vocabulary.forEach((token, id) => (vocab[token] = id));
  const mergesText = ['#version: 0.2', ...learned.map(([l, r]) => `${l} ${r}`)].join('\n') + '\n';
  return { 'vocab.json': Buffer.from(JSON.stringify(vocab)), 'merges.txt': Buffer.from(mergesText) };
}

/** The CLIP tokenizer's tokenizer_config.json and special_tokens_map.json as FLUX's tokenizer/ has them. */
export function clipTokenizerConfigFiles(): Record<string, Buffer> {
  const special = { bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', unk_token: '<|endoftext|>' };
  const config = { ...special, add_prefix_space: false, clean_up_tokenization_spaces: true, do_lower_case: true, errors: 'replace', model_max_length: 77, tokenizer_class: 'CLIPTokenizer' };
  return { 'tokenizer_config.json': Buffer.from(JSON.stringify(config, null, 2)), 'special_tokens_map.json': Buffer.from(JSON.stringify(special, null, 2)) };
}

interface Piece {
  piece: string;
  score: number;
  type: number;
}

/** A small unigram vocabulary: T5's three specials, ▁-prefixed corpus words by frequency, then single characters. */
function t5Pieces(): Piece[] {
  const words = new Map<string, number>();
  for (const word of CORPUS.split(/\s+/)) {
    words.set(word, (words.get(word) ?? 0) + 1);
  }
  const pieces: Piece[] = [
    { piece: '<pad>', score: 0, type: 3 },
    { piece: '</s>', score: 0, type: 3 },
    { piece: '<unk>', score: 0, type: 2 },
    { piece: '\u2581', score: -2, type: 1 },
  ];
  const seen = new Set(pieces.map((p) => p.piece));
  const ranked = [...words.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  ranked.forEach(([word], rank) => {
    for (const candidate of [`\u2581${word}`, word]) {
      if (!seen.has(candidate)) {
        seen.add(candidate);
        pieces.push({ piece: candidate, score: -3 - rank * 0.05 - (candidate.startsWith('\u2581') ? 0 : 1), type: 1 });
      }
    }
  });
  for (const char of new Set([...CORPUS, ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'])) {
    if (char !== ' ' && !seen.has(char)) {
      seen.add(char);
      pieces.push({ piece: char, score: -12, type: 1 });
    }
  }
  return pieces;
}

/** Protobuf wire format, just what ModelProto needs. */
function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const key = (field: number, wire: number): number[] => varint(field * 8 + wire);
const lengthDelimited = (field: number, body: Uint8Array | number[]): number[] => [...key(field, 2), ...varint(body.length), ...body];
const varintField = (field: number, value: number): number[] => [...key(field, 0), ...varint(value)];
function floatField(field: number, value: number): number[] {
  const bytes = Buffer.alloc(4);
  bytes.writeFloatLE(value);
  return [...key(field, 5), ...bytes];
}

/** sentencepiece's ModelProto: pieces (1), trainer_spec (2: unigram, unk 2, eos 1, pad 0), normalizer_spec (3: nmt_nfkc). */
function spieceModel(pieces: Piece[]): Buffer {
  const bytes: number[] = [];
  for (const p of pieces) {
    bytes.push(...lengthDelimited(1, [...lengthDelimited(1, Buffer.from(p.piece, 'utf8')), ...floatField(2, p.score), ...varintField(3, p.type)]));
  }
  bytes.push(...lengthDelimited(2, [...varintField(3, 1), ...varintField(40, 2), ...varintField(42, 1), ...varintField(43, 0)]));
  bytes.push(...lengthDelimited(3, [...lengthDelimited(1, Buffer.from('nmt_nfkc')), ...varintField(3, 1), ...varintField(4, 1), ...varintField(5, 1)]));
  return Buffer.from(bytes);
}

/** The tokenizer.json transformers' T5 converter writes (precompiled NFKC map elided; tokenizers' JS port applies NFKC for it). */
function t5TokenizerJson(pieces: Piece[], extraIds: number): Buffer {
  const vocab = [...pieces.map((p) => [p.piece, p.score]), ...Array.from({ length: extraIds }, (_, i) => [`<extra_id_${extraIds - 1 - i}>`, 0])];
  const added = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(0, '<pad>'), added(1, '</s>'), added(2, '<unk>'), ...vocab.slice(pieces.length).map(([piece], i) => added(pieces.length + i, String(piece)))],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Precompiled', precompiled_charsmap: null }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true }] },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 2, vocab, byte_fallback: false },
  };
  return Buffer.from(JSON.stringify(json));
}

export const T5_EXTRA_IDS = 100;

/** Ids T5's vocabulary spans: the pieces plus the `<extra_id_N>` sentinels. */
export function t5VocabularySize(): number {
  return t5Pieces().length + T5_EXTRA_IDS;
}

/** T5 tokenizer files: `spiece.model`, `tokenizer.json`, or both, with its configs. */
export function t5TokenizerFiles(formats: { spiece: boolean; tokenizerJson: boolean }): Record<string, Buffer> {
  const pieces = t5Pieces();
  const special = { eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>', additional_special_tokens: Array.from({ length: T5_EXTRA_IDS }, (_, i) => `<extra_id_${i}>`) };
  const files: Record<string, Buffer> = {
    'tokenizer_config.json': Buffer.from(JSON.stringify({ ...special, extra_ids: T5_EXTRA_IDS, model_max_length: 512, legacy: true, tokenizer_class: 'T5Tokenizer' }, null, 2)),
    'special_tokens_map.json': Buffer.from(JSON.stringify(special, null, 2)),
  };
  if (formats.spiece) {
    files['spiece.model'] = spieceModel(pieces);
  }
  if (formats.tokenizerJson) {
    files['tokenizer.json'] = t5TokenizerJson(pieces, T5_EXTRA_IDS);
  }
  return files;
}
