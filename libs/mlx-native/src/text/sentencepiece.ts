import { TokenizerLoadError } from './errors';

/** A piece of a sentencepiece model (sentencepiece_model.proto's SentencePiece). */
export interface SentencePiece {
  piece: string;
  score: number;
  /** 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. */
  type: number;
}

/** What `spiece.model` / `tokenizer.model` holds that tokenizing needs. */
export interface SentencePieceModel {
  pieces: SentencePiece[];
  /** TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  unkId: number;
  byteFallback: boolean;
  normalizer: { name: string; addDummyPrefix: boolean; removeExtraWhitespaces: boolean; escapeWhitespaces: boolean };
}

/** A minimal protobuf wire-format reader: varints, 32-bit floats and length-delimited fields. */
class ProtoReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.offset >= this.bytes.length) {
        throw new Error('truncated varint');
      }
      const byte = this.bytes[this.offset++];
      // Past 2^53 precision is lost, but every field read here (ids, flags, lengths) is small.
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) {
        return result;
      }
    }
  }

  float(): number {
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, 4);
    this.offset += 4;
    return view.getFloat32(0, true);
  }

  bytesField(): Uint8Array {
    const length = this.varint();
    const start = this.offset;
    this.offset += length;
    if (this.offset > this.bytes.length) {
      throw new Error('truncated field');
    }
    return this.bytes.subarray(start, this.offset);
  }

  /** Calls `visit(field, wireType)` for each field; unread fields are skipped. */
  fields(visit: (field: number, wireType: number) => boolean): void {
    while (!this.done) {
      const key = this.varint();
      const field = Math.floor(key / 8);
      const wireType = key & 7;
      if (!visit(field, wireType)) {
        this.skip(wireType);
      }
    }
  }

  private skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.offset += 8;
        return;
      case 2:
        this.bytesField();
        return;
      case 5:
        this.offset += 4;
        return;
      default:
        throw new Error(`unsupported wire type ${wireType}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8');

/**
 * Reads a sentencepiece ModelProto (`spiece.model`): its pieces with scores and types, the trainer's
 * model type, unknown id and byte fallback, and the normalizer's switches. Older FLUX saves (mflux,
 * google/t5-v1_1-xxl) ship T5's tokenizer only in this form.
 */
export function parseSentencePieceModel(bytes: Uint8Array, source: string): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [],
    modelType: 1,
    unkId: 0,
    byteFallback: false,
    // sentencepiece's defaults for fields a model leaves out.
    normalizer: { name: 'nmt_nfkc', addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true },
  };
  return readModel(bytes, model, source);
}

function readModel(bytes: Uint8Array, model: SentencePieceModel, source: string): SentencePieceModel {
  try {
    const reader = new ProtoReader(bytes);
    reader.fields((field, wireType) => {
      if (wireType !== 2) {
        return false;
      }
      const body = new ProtoReader(reader.bytesField());
      switch (field) {
        case 1: {
          const piece: SentencePiece = { piece: '', score: 0, type: 1 };
          body.fields((f, w) => {
            if (f === 1 && w === 2) {
              piece.piece = utf8.decode(body.bytesField());
            } else if (f === 2 && w === 5) {
              piece.score = body.float();
            } else if (f === 3 && w === 0) {
              piece.type = body.varint();
            } else {
              return false;
            }
            return true;
          });
          model.pieces.push(piece);
          return true;
        }
        case 2:
          body.fields((f, w) => {
            if (w !== 0) {
              return false;
            }
            const value = body.varint();
            if (f === 3) {
              model.modelType = value;
            } else if (f === 35) {
              model.byteFallback = value !== 0;
            } else if (f === 40) {
              model.unkId = value;
            }
            return true;
          });
          return true;
        case 3:
          body.fields((f, w) => {
            if (f === 1 && w === 2) {
              model.normalizer.name = utf8.decode(body.bytesField());
            } else if (w === 0 && (f === 3 || f === 4 || f === 5)) {
              const on = body.varint() !== 0;
              if (f === 3) {
                model.normalizer.addDummyPrefix = on;
              } else if (f === 4) {
                model.normalizer.removeExtraWhitespaces = on;
              } else {
                model.normalizer.escapeWhitespaces = on;
              }
            } else {
              return false;
            }
            return true;
          });
          return true;
        default:
          return true;
      }
    });
  } catch (error) {
    throw new TokenizerLoadError(`${source} is not a sentencepiece model: ${(error as Error).message}`);
  }
  if (model.pieces.length === 0) {
    throw new TokenizerLoadError(`${source} holds no sentencepiece pieces`);
  }
  return model;
}

const CONTROL = 3;
const UNKNOWN = 2;

/**
 * A Hugging Face tokenizer.json equivalent of a unigram sentencepiece model, as transformers' T5
 * converter builds it: the pieces and scores, T5's `<extra_id_N>` sentinels appended (highest N first),
 * control and unknown pieces as special added tokens, NFKC normalisation (what `nmt_nfkc`'s precompiled
 * map does), whitespace collapsed and the ▁ word prefix.
 */
export function unigramTokenizerJson(model: SentencePieceModel, extraIds: number, source: string): Record<string, unknown> {
  if (model.modelType !== 1) {
    throw new TokenizerLoadError(`${source} is a sentencepiece model of type ${model.modelType}; only unigram models (type 1) are read`);
  }
  const vocab: Array<[string, number]> = model.pieces.map((p) => [p.piece, p.score]);
  for (let i = extraIds - 1; i >= 0; i--) {
    vocab.push([`<extra_id_${i}>`, 0]);
  }
  const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const addedTokens = [
    ...model.pieces.flatMap((p, id) => (p.type === CONTROL || p.type === UNKNOWN ? [special(p.piece, id)] : [])),
    ...vocab.slice(model.pieces.length).map(([piece], i) => special(piece, model.pieces.length + i)),
  ];
  const normalizers: unknown[] = [];
  if (/nfkc/i.test(model.normalizer.name)) {
    normalizers.push({ type: 'NFKC' });
  }
  if (model.normalizer.removeExtraWhitespaces) {
    normalizers.push({ type: 'Strip', strip_left: true, strip_right: true }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' });
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: { type: 'Sequence', normalizers },
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: model.normalizer.addDummyPrefix ? 'always' : 'never', split: true },
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: model.unkId, vocab, byte_fallback: model.byteFallback },
  };
}
