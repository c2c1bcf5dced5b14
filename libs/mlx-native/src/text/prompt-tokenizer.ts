import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { TokenizerLoadError } from './errors';
import { parseSentencePieceModel, unigramTokenizerJson } from './sentencepiece';

/** A prompt as a text encoder takes it: exactly `length` ids, and where its end-of-sequence token is. */
export interface FixedLengthIds {
  ids: number[];
  /** Index of the first end-of-sequence id (CLIP pools there). */
  eosIndex: number;
  /** Ids the prompt itself took, specials included, before padding. */
  promptTokens: number;
  /** Whether the prompt was cut to fit. */
  truncated: boolean;
}

type SpecialValue = string | { content: string } | null | undefined;

async function readJsonIfPresent(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw new TokenizerLoadError(`${path} could not be read: ${(error as Error).message}`);
  }
}

/** A special token's text from tokenizer_config.json or special_tokens_map.json (a string or a serialised AddedToken). */
async function specialToken(dir: string, key: string): Promise<string | undefined> {
  for (const file of ['tokenizer_config.json', 'special_tokens_map.json']) {
    const value = (await readJsonIfPresent(join(dir, file)))?.[key] as SpecialValue;
    const content = typeof value === 'string' ? value : value?.content;
    if (typeof content === 'string') {
      return content;
    }
  }
  return undefined;
}

/** CLIP's pre-tokenisation split: contractions, letter runs, single digits, punctuation runs (whitespace dropped). */
const CLIP_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/**
 * The tokenizer.json transformers' CLIP converter builds from vocab.json and merges.txt: byte-level BPE
 * with `</w>` marking word ends, text NFC-normalised, whitespace collapsed and lower-cased. The slow
 * CLIPTokenizer reads only the first 49152 − 256 − 2 merges, and so does this.
 */
export function clipTokenizerJson(vocab: Record<string, number>, mergesText: string, unknown: string): Record<string, unknown> {
  const merges = mergesText
    .split('\n')
    .slice(1, 49152 - 256 - 2 + 1)
    .filter((line) => line.trim() !== '');
  const specials = Object.entries(vocab)
    .filter(([token]) => /^<\|.*\|>$/.test(token))
    .map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials,
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: unknown, continuing_subword_prefix: '', end_of_word_suffix: '</w>', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/**
 * Turns prompts into the fixed-length id sequences FLUX's text encoders read, as the diffusers
 * pipeline asks its tokenizers (padding="max_length", truncation=True): [bos] text… eos, then padding.
 */
export class PromptTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly length: number,
    private readonly bos: number | undefined,
    private readonly eos: number,
    private readonly pad: number,
  ) {}

  /** CLIP from `vocab.json` + `merges.txt` (FLUX's tokenizer/ has no tokenizer.json). */
  static async clip(dir: string, length: number): Promise<PromptTokenizer> {
    const vocabPath = join(dir, 'vocab.json');
    const vocab = (await readJsonIfPresent(vocabPath)) as Record<string, number> | undefined;
    const merges = await readFile(join(dir, 'merges.txt'), 'utf8').catch(() => undefined);
    if (vocab === undefined || merges === undefined) {
      throw new TokenizerLoadError(`${dir} lacks CLIP's vocab.json or merges.txt`);
    }
    const bos = (await specialToken(dir, 'bos_token')) ?? '<|startoftext|>';
    const eos = (await specialToken(dir, 'eos_token')) ?? '<|endoftext|>';
    const pad = (await specialToken(dir, 'pad_token')) ?? eos;
    const unknown = (await specialToken(dir, 'unk_token')) ?? eos;
    const tokenizer = new Tokenizer(clipTokenizerJson(vocab, merges, unknown), {});
    return new PromptTokenizer(tokenizer, length, idOf(tokenizer, bos, vocabPath), idOf(tokenizer, eos, vocabPath), idOf(tokenizer, pad, vocabPath));
  }

  /** T5 from tokenizer.json, else from sentencepiece's spiece.model (older saves carry only that). */
  static async t5(dir: string, length: number): Promise<PromptTokenizer> {
    let json = await readJsonIfPresent(join(dir, 'tokenizer.json'));
    if (json === undefined) {
      const modelPath = join(dir, 'spiece.model');
      const bytes = await readFile(modelPath).catch(() => {
        throw new TokenizerLoadError(`${dir} has neither tokenizer.json nor spiece.model for T5`);
      });
      const config = await readJsonIfPresent(join(dir, 'tokenizer_config.json'));
      const extraIds = typeof config?.['extra_ids'] === 'number' ? config['extra_ids'] : 100;
      json = unigramTokenizerJson(parseSentencePieceModel(bytes, modelPath), extraIds, modelPath);
    }
    const tokenizer = new Tokenizer(json, {});
    const eos = (await specialToken(dir, 'eos_token')) ?? '</s>';
    const pad = (await specialToken(dir, 'pad_token')) ?? '<pad>';
    return new PromptTokenizer(tokenizer, length, undefined, idOf(tokenizer, eos, dir), idOf(tokenizer, pad, dir));
  }

  encode(text: string): FixedLengthIds {
    const room = this.length - 1 - (this.bos === undefined ? 0 : 1);
    const body = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const kept = body.slice(0, room);
    const ids = [...(this.bos === undefined ? [] : [this.bos]), ...kept, this.eos];
    const promptTokens = ids.length;
    while (ids.length < this.length) {
      ids.push(this.pad);
    }
    return { ids, eosIndex: promptTokens - 1, promptTokens, truncated: body.length > room };
  }
}

function idOf(tokenizer: Tokenizer, token: string, source: string): number {
  const id = tokenizer.token_to_id(token);
  if (id === undefined) {
    throw new TokenizerLoadError(`${source}: the tokenizer has no "${token}" token`);
  }
  return id;
}
