import { core as mx } from '@frost-beta/mlx';
import type { ModelTokenizer } from '../text/model-tokenizer';
import { runInBatches, type BatchRunOptions, type TokenSequence } from './batching';
import { EmbeddingInputError } from './errors';
import { l2Normalize, pool } from './pooling';
import type { PoolingMode } from './sentence-transformers';
import type { TextEncoder } from './text-encoder';

/** A text, or token ids used exactly as given. */
export type EmbeddingInput = string | readonly number[];

export interface EmbeddingSettings {
  pooling: PoolingMode;
  normalize: boolean;
  /** Longest input in tokens, special tokens included. */
  maxTokens: number;
  /** Trained with Matryoshka representation learning: a prefix of the vector is itself an embedding. */
  matryoshka: boolean;
}

export interface EmbedOptions extends BatchRunOptions {
  /** A Matryoshka prefix of this many dimensions, renormalized. */
  dimensions?: number;
}

/** Checks token ids against a model: integers inside its embedding table, not too many of them, not none. */
export function checkTokenIds(ids: readonly number[], vocabSize: number, maxTokens: number, param: string): void {
  if (ids.length === 0) {
    throw new EmbeddingInputError(`${param} is empty; give at least one token`, param);
  }
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
  if (bad !== undefined) {
    throw new EmbeddingInputError(`${param} holds token id ${bad}, outside this model's vocabulary of ${vocabSize}`, param);
  }
  if (ids.length > maxTokens) {
    throw new EmbeddingInputError(
      `${param} is ${ids.length} tokens long; this model's maximum input length is ${maxTokens} tokens. Shorten the input.`,
      param,
      'context_length_exceeded',
    );
  }
}

/**
 * A model that turns texts into vectors: the encoder (or decoder) in padded batches, then the
 * pooling and normalization its sentence-transformers packaging prescribes.
 */
export class EmbeddingModel {
  constructor(
    readonly encoder: TextEncoder,
    readonly tokenizer: ModelTokenizer,
    readonly settings: EmbeddingSettings,
  ) {}

  /** Length of the vectors. */
  get dimensions(): number {
    return this.encoder.hiddenSize;
  }

  /**
   * Token ids of every input: texts through the tokenizer with its special tokens (the
   * post-processor's [CLS]/[SEP], <s>/</s> or a trailing <|endoftext|>), token ids as they are.
   * Throws EmbeddingInputError naming the input (`input[3]`) that is empty, out of the vocabulary
   * or longer than the model takes; nothing is truncated.
   */
  tokenize(inputs: readonly EmbeddingInput[], param = 'input'): number[][] {
    return inputs.map((input, index) => {
      const where = inputs.length === 1 ? param : `${param}[${index}]`;
      if (typeof input === 'string' && input.length === 0) {
        throw new EmbeddingInputError(`${where} is an empty string`, param);
      }
      const ids = typeof input === 'string' ? this.tokenizer.encode(input) : [...input];
      checkTokenIds(ids, this.encoder.vocabSize, this.settings.maxTokens, where);
      return ids;
    });
  }

  /** One float32 vector per token sequence, in order. */
  async embed(sequences: readonly (readonly number[])[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const { pooling, normalize } = this.settings;
    const width = this.checkDimensions(options.dimensions);
    const readOut = (hidden: mx.array, batch: { lengths: number[] }) => {
      let vectors = pool(hidden, batch.lengths, pooling);
      if (width < this.dimensions) {
        vectors = l2Normalize(vectors.index(mx.Slice(), mx.Slice(0, width)));
      } else if (normalize) {
        vectors = l2Normalize(vectors);
      }
      return vectors;
    };
    const rows = await runInBatches(this.encoder, sequences.map((ids): TokenSequence => ({ ids })), readOut, options);
    return rows.map((row) => Float32Array.from(row));
  }

  private checkDimensions(dimensions: number | undefined): number {
    if (dimensions === undefined) {
      return this.dimensions;
    }
    if (!this.settings.matryoshka) {
      throw new EmbeddingInputError('This model does not support the dimensions parameter: it was not trained to give shorter (Matryoshka) embeddings', 'dimensions');
    }
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > this.dimensions) {
      throw new EmbeddingInputError(`dimensions must be between 1 and this model's ${this.dimensions}`, 'dimensions');
    }
    return dimensions;
  }
}
