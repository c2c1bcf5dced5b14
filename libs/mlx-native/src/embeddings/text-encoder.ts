import type { core as mx } from '@frost-beta/mlx';

/** Token ids of several inputs, right-padded to one length, with each row's real length. */
export interface EncoderBatch {
  /** [batch][length]; slots at or after a row's length hold the model's padding id. */
  ids: number[][];
  /** Segment of every token (BERT's token types), same shape; absent: all 0. */
  typeIds?: number[][];
  lengths: number[];
}

/**
 * A transformer that turns a padded batch into one hidden state per token, with padding hidden from
 * every real token: what embedding models pool and cross-encoders classify. Encoders attend both
 * ways behind a padding mask; decoders attend causally, so right padding never reaches a real token.
 */
export interface TextEncoder {
  readonly hiddenSize: number;
  /** Rows of the token embedding table: token ids must be below it. */
  readonly vocabSize: number;
  /** Longest input in tokens the position scheme allows. */
  readonly maxPositions: number;
  /** What padded slots hold (RoBERTa derives positions from it). */
  readonly padId: number;
  /** Whether attention is bidirectional (pooling defaults to mean) or causal (last token). */
  readonly bidirectional: boolean;
  /** [batch, length, hidden] in the compute dtype. */
  forward(batch: EncoderBatch): mx.array;
}
