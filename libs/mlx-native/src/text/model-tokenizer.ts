import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ChatTemplates, type ChatMessage, type ChatTemplateOptions } from './chat-template';
import { ChatTemplateError, TokenizerLoadError } from './errors';
import { createStreamingDetokenizer, type DetokenizerSource, type StreamingDetokenizer } from './streaming-detokenizer';
import { pieceDecodingFromConfig, pieceToBytes, type PieceDecoding } from './token-bytes';

/** A special token as tokenizer_config.json / special_tokens_map.json write it: a string or a serialised AddedToken. */
type SpecialTokenValue = string | { content: string } | null | undefined;

interface TokenizerConfig {
  chat_template?: string | Array<{ name: string; template: string }> | null;
  bos_token?: SpecialTokenValue;
  eos_token?: SpecialTokenValue;
  unk_token?: SpecialTokenValue;
  pad_token?: SpecialTokenValue;
  [key: string]: unknown;
}

interface TokenizerJson {
  decoder?: Parameters<typeof pieceDecodingFromConfig>[0];
  [key: string]: unknown;
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const;

/**
 * A model's tokenizer and chat template, loaded from its Hugging Face directory: encoding and
 * decoding as `tokenizers` does, per-token bytes for logprobs and streaming, and chat rendering
 * with the model's own Jinja template.
 */
export class ModelTokenizer implements DetokenizerSource {
  /** Ids the tokenizer can decode: the model's embedding table is often padded beyond this. */
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  /** The end-of-sequence token of tokenizer_config.json; config.json and generation_config.json may add more. */
  readonly eosTokenIds: readonly number[];
  private decoding: PieceDecoding | undefined;
  private readonly addedTokenIds: ReadonlySet<number>;
  private readonly specialTokenIds: ReadonlySet<number>;
  private readonly bytesById = new Map<number, Uint8Array>();

  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly tokenizerJson: TokenizerJson,
    /** Template variables for the special tokens (`bos_token`, …), as transformers passes them. */
    private readonly specialTokens: Record<string, string>,
    private readonly chatTemplates: ChatTemplates | null,
  ) {
    let maxId = -1;
    for (const id of tokenizer.get_vocab(true).values()) {
      maxId = Math.max(maxId, id);
    }
    this.vocabSize = maxId + 1;
    const added = [...tokenizer.get_added_tokens_decoder().values()];
    this.addedTokenIds = new Set(added.map((token) => token.id));
    this.specialTokenIds = new Set(added.filter((token) => token.special).map((token) => token.id));
    this.bosTokenId = this.idOfSpecial('bos_token');
    const eos = this.idOfSpecial('eos_token');
    this.eosTokenIds = eos === undefined ? [] : [eos];
  }

  /** Reads tokenizer.json, tokenizer_config.json and, where present, special_tokens_map.json and chat_template.jinja. */
  static async load(modelDir: string): Promise<ModelTokenizer> {
    const tokenizerJson = await readJson<TokenizerJson>(modelDir, 'tokenizer.json');
    if (tokenizerJson === undefined) {
      throw new TokenizerLoadError(`${join(modelDir, 'tokenizer.json')} is missing`);
    }
    const config = (await readJson<TokenizerConfig>(modelDir, 'tokenizer_config.json')) ?? {};
    const specialTokensMap = (await readJson<TokenizerConfig>(modelDir, 'special_tokens_map.json')) ?? {};
    // transformers lets a chat_template.jinja file override the template in tokenizer_config.json.
    const templateSource = (await readText(modelDir, 'chat_template.jinja')) ?? config.chat_template ?? null;

    const specialTokens: Record<string, string> = {};
    for (const key of SPECIAL_TOKEN_KEYS) {
      const content = specialTokenContent(config[key]) ?? specialTokenContent(specialTokensMap[key]);
      if (content !== undefined) {
        specialTokens[key] = content;
      }
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokenizerJson, { ...config, ...specialTokens });
    } catch (error) {
      throw new TokenizerLoadError(`${join(modelDir, 'tokenizer.json')} could not be loaded: ${(error as Error).message}`);
    }
    return new ModelTokenizer(tokenizer, tokenizerJson, specialTokens, templateSource === null ? null : ChatTemplates.parse(templateSource));
  }

  /**
   * How pieces become bytes, for streaming and logprobs. Worked out on first use: only generated text
   * needs it, and encoders' decoders (WordPiece) have no token-by-token form to refuse at load.
   */
  get pieceDecoding(): PieceDecoding {
    this.decoding ??= pieceDecodingFromConfig(this.tokenizerJson.decoder);
    return this.decoding;
  }

  get hasChatTemplate(): boolean {
    return this.chatTemplates !== null;
  }

  encode(text: string, { addSpecialTokens = true }: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  /**
   * A text pair as cross-encoders read it: the post-processor's pair template (`[CLS] a [SEP] b [SEP]`,
   * `<s> a </s></s> b </s>`) and the segment of every token (BERT's token types; 0 throughout where the
   * template says so).
   */
  encodePair(text: string, pair: string): { ids: number[]; typeIds: number[] } {
    const encoded = this.tokenizer.encode(text, { text_pair: pair, add_special_tokens: true, return_token_type_ids: true });
    return { ids: encoded.ids, typeIds: encoded.token_type_ids };
  }

  /**
   * Decodes as `tokenizers` does, except that `clean_up_tokenization_spaces` (on for Llama 3) is
   * never applied: it rewrites " ." to "." and similar, which corrupts code and is not what the
   * model produced. The streaming detokenizer gives the same text.
   */
  decode(ids: readonly number[], { skipSpecialTokens = false }: { skipSpecialTokens?: boolean } = {}): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: skipSpecialTokens, clean_up_tokenization_spaces: false });
  }

  /** The bytes token `id` adds to decoded text (byte-fallback `<0xNN>` as the raw byte); empty for ids the vocabulary lacks. */
  tokenBytes(id: number): Uint8Array {
    let bytes = this.bytesById.get(id);
    if (bytes === undefined) {
      const piece = this.tokenizer.id_to_token(id);
      bytes = piece === undefined ? new Uint8Array(0) : pieceToBytes(piece, this.addedTokenIds.has(id), this.pieceDecoding);
      this.bytesById.set(id, bytes);
    }
    return bytes;
  }

  /** The text of one token, as logprobs report it; a token holding part of a UTF-8 character shows U+FFFD (its bytes are in `tokenBytes`). */
  tokenText(id: number): string {
    return utf8.decode(this.tokenBytes(id));
  }

  /** The id of a token given by its text (a special token's, such as `<|endoftext|>`); undefined when the vocabulary lacks it. */
  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token) ?? undefined;
  }

  isSpecialToken(id: number): boolean {
    return this.specialTokenIds.has(id);
  }

  /** Text deltas for generated tokens; by default special tokens are left out, as the user should not see them. */
  createStreamingDetokenizer(options: { skipSpecialTokens?: boolean } = {}): StreamingDetokenizer {
    return createStreamingDetokenizer(this, options);
  }

  /** Renders the model's chat template; throws {@link ChatTemplateError} when the model has none or the template rejects the chat. */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (!this.chatTemplates) {
      throw new ChatTemplateError('this model has no chat template, so it cannot serve chat requests; use a completion (plain prompt) instead');
    }
    return this.chatTemplates.render(messages, this.specialTokens, options);
  }

  /**
   * The prompt ids of a chat. The template writes every special token it wants, BOS included
   * where the model expects one, so the text is encoded without adding special tokens again
   * (as transformers does); adding them would give Llama 3 and Gemma a second BOS.
   */
  encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, options), { addSpecialTokens: false });
  }

  private idOfSpecial(key: (typeof SPECIAL_TOKEN_KEYS)[number]): number | undefined {
    const content = this.specialTokens[key];
    return content === undefined ? undefined : this.tokenizer.token_to_id(content);
  }
}

function specialTokenContent(value: SpecialTokenValue): string | undefined {
  if (value === null || value === undefined) {
    return undefined;
  }
  return typeof value === 'string' ? value : value.content;
}

async function readText(dir: string, file: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, file), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw new TokenizerLoadError(`${join(dir, file)} could not be read: ${(error as Error).message}`);
  }
}

async function readJson<T>(dir: string, file: string): Promise<T | undefined> {
  const text = await readText(dir, file);
  if (text === undefined) {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new TokenizerLoadError(`${join(dir, file)} is not valid JSON: ${(error as Error).message}`);
  }
}
