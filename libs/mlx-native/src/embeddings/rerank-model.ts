import { core as mx } from '@frost-beta/mlx';
import type { ModelConfig } from '../io/model-config';
import type { WeightStore } from '../io/weight-store';
import type { DecoderLanguageModel } from '../lm/language-model';
import { runInBatches, type BatchRunOptions, type TokenSequence } from './batching';
import { checkTokenIds } from './embedding-model';
import { encoderPrefix } from './bert';
import { pool } from './pooling';
import type { EncoderBatch, TextEncoder } from './text-encoder';

/** Hidden states of a padded batch → one relevance logit per row, [batch]. */
export type RelevanceHead = (hidden: mx.array, batch: EncoderBatch) => mx.array;

/** How a (query, document) pair becomes one token sequence for the model. */
export type PairEncoder = (query: string, document: string) => TokenSequence;

/**
 * A reranker: scores how well each document answers a query by reading the pair together (a
 * cross-encoder's classification head, or a decoder's yes/no logits). The relevance score is the
 * sigmoid of the model's logit, a probability in [0, 1] in the same order as the logits: what
 * sentence-transformers' CrossEncoder gives for one-label models, and, for Qwen3-Reranker (logit =
 * yes − no), exactly the P(yes) of Qwen's own softmax over the two tokens.
 */
export class RerankModel {
  constructor(
    readonly encoder: TextEncoder,
    private readonly head: RelevanceHead,
    private readonly encodePair: PairEncoder,
    /** Longest pair in tokens. */
    readonly maxTokens: number,
  ) {}

  /** Each document paired with the query; EmbeddingInputError names the document (`documents[2]`) that is too long. */
  tokenize(query: string, documents: readonly string[]): TokenSequence[] {
    return documents.map((document, index) => {
      const sequence = this.encodePair(query, document);
      checkTokenIds(sequence.ids, this.encoder.vocabSize, this.maxTokens, `documents[${index}]`);
      return sequence;
    });
  }

  /** Relevance of each pair, in order. */
  async score(pairs: readonly TokenSequence[], options: BatchRunOptions = {}): Promise<number[]> {
    const rows = await runInBatches(this.encoder, pairs, (hidden, batch) => mx.sigmoid(this.head(hidden, batch).astype(mx.float32)), options);
    return rows.map((row) => row[0]);
  }
}

/** BertForSequenceClassification: tanh(pooler.dense(h[CLS])) → classifier, one label. */
export function bertClassifierHead(store: WeightStore, hidden: number): RelevanceHead {
  const w = store.scoped(encoderPrefix(store));
  const pooler = w.linear('pooler.dense', hidden, hidden, { bias: true });
  const classifier = store.linear('classifier', hidden, 1, { bias: true });
  return (states, batch) => classifier.forward(mx.tanh(pooler.forward(pool(states, batch.lengths, 'cls')))).flatten();
}

/** (XLM-)RobertaForSequenceClassification: out_proj(tanh(dense(h[<s>]))), one label. */
export function robertaClassifierHead(store: WeightStore, hidden: number): RelevanceHead {
  const dense = store.linear('classifier.dense', hidden, hidden, { bias: true });
  const out = store.linear('classifier.out_proj', hidden, 1, { bias: true });
  return (states, batch) => out.forward(mx.tanh(dense.forward(pool(states, batch.lengths, 'cls')))).flatten();
}

/** sentence-transformers' LogitScore: logit[true] − logit[false] (or logit[true] alone) at the last real token. */
export function logitScoreHead(model: DecoderLanguageModel, trueTokenId: number, falseTokenId: number | undefined): RelevanceHead {
  const tokens = mx.array(falseTokenId === undefined ? [trueTokenId] : [trueTokenId, falseTokenId], mx.int32);
  return (states, batch) => {
    const logits = mx.take(model.logits(pool(states, batch.lengths, 'lasttoken')), tokens, 1);
    return falseTokenId === undefined ? logits.flatten() : mx.subtract(logits.index(mx.Slice(), 0), logits.index(mx.Slice(), 1));
  };
}

/** Qwen3ForSequenceClassification (the seq-cls conversions of Qwen3-Reranker): `score` on the last real token. */
export function lastTokenScoreHead(store: WeightStore, hidden: number): RelevanceHead {
  const score = store.linear('score', hidden, 1);
  return (states, batch) => score.forward(pool(states, batch.lengths, 'lasttoken')).flatten();
}

/** The number of labels of a classification head: `num_labels`, else id2label's size, else transformers' default of 2. */
export function labelCount(config: ModelConfig): number {
  if (config.has('num_labels')) {
    return config.int('num_labels');
  }
  const labels = config.object('id2label');
  return labels ? Object.keys(labels.raw).length : 2;
}

const QWEN3_RERANKER_SYSTEM =
  'Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".';
/** The instruction of Qwen3-Reranker's model card when the packaging names none. */
export const QWEN3_RERANKER_DEFAULT_INSTRUCTION = 'Given a web search query, retrieve relevant passages that answer the query';

/** Qwen3-Reranker's prompt, as its model card builds it: a chat asking for "yes" or "no", with an empty think block. */
export function qwen3RerankerPrompt(instruction: string, query: string, document: string): string {
  return (
    `<|im_start|>system\n${QWEN3_RERANKER_SYSTEM}<|im_end|>\n<|im_start|>user\n` +
    `<Instruct>: ${instruction}\n<Query>: ${query}\n<Document>: ${document}` +
    '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n'
  );
}
