import { core as mx } from '@frost-beta/mlx';
import { InvalidModelConfigError } from '../io/errors';
import type { ModelConfig } from '../io/model-config';
import type { WeightStore } from '../io/weight-store';
import { BidirectionalAttention, paddingMask, separateQkv } from '../nn/attention';
import type { Embedding, Linear } from '../nn/layers';
import { gelu } from '../nn/activations';
import type { LayerNorm } from '../nn/norms';
import type { EncoderBatch, TextEncoder } from './text-encoder';

/** The model types that are BERT's layers: BERT itself, and RoBERTa / XLM-RoBERTa (the same layers, other positions). */
export const BERT_LIKE_TYPES = ['bert', 'roberta', 'xlm-roberta'] as const;

export interface BertConfig {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  eps: number;
  /**
   * RoBERTa numbers positions from padding_idx + 1 and gives padding tokens position padding_idx
   * (fairseq's `make_positions`); BERT numbers them from 0.
   */
  positionsAfterPadding: boolean;
  padId: number;
}

export function readBertConfig(config: ModelConfig): BertConfig {
  const modelType = config.string('model_type');
  const roberta = modelType !== 'bert';
  const positionType = config.string('position_embedding_type', 'absolute');
  if (positionType !== 'absolute') {
    throw new InvalidModelConfigError(config.source, `position_embedding_type "${positionType}" is not supported (only absolute)`);
  }
  const activation = config.string('hidden_act', 'gelu');
  if (activation !== 'gelu') {
    throw new InvalidModelConfigError(config.source, `hidden_act "${activation}" is not supported (only gelu)`);
  }
  return {
    vocabSize: config.int('vocab_size'),
    hidden: config.int('hidden_size'),
    layers: config.int('num_hidden_layers'),
    heads: config.int('num_attention_heads'),
    intermediate: config.int('intermediate_size'),
    maxPositionEmbeddings: config.int('max_position_embeddings', 512),
    typeVocabSize: config.int('type_vocab_size', 2),
    eps: config.number('layer_norm_eps', 1e-12),
    positionsAfterPadding: roberta,
    padId: config.int('pad_token_id', roberta ? 1 : 0),
  };
}

/**
 * Where the encoder's tensors sit: at the root (BertModel / XLMRobertaModel checkpoints and the
 * mlx-community conversions) or under the task model's prefix (`bert.`, `roberta.` in
 * *ForSequenceClassification checkpoints).
 */
export function encoderPrefix(w: WeightStore): string {
  const prefix = ['', 'bert.', 'roberta.'].find((candidate) => w.hasModule(`${candidate}embeddings.word_embeddings`));
  return prefix ?? '';
}

interface BertLayer {
  attention: BidirectionalAttention;
  attentionNorm: LayerNorm;
  intermediate: Linear;
  output: Linear;
  outputNorm: LayerNorm;
}

/** BERT's encoder (Devlin et al.): embeddings summed and normed, then post-norm layers of attention and a GELU MLP. */
export class BertEncoder implements TextEncoder {
  readonly bidirectional = true;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly padId: number;

  constructor(
    private readonly c: BertConfig,
    private readonly words: Embedding,
    private readonly positions: Embedding,
    private readonly types: Embedding,
    private readonly embeddingNorm: LayerNorm,
    private readonly layers: BertLayer[],
  ) {
    this.hiddenSize = c.hidden;
    this.vocabSize = c.vocabSize;
    this.padId = c.padId;
    this.maxPositions = c.positionsAfterPadding ? c.maxPositionEmbeddings - c.padId - 1 : c.maxPositionEmbeddings;
  }

  forward(batch: EncoderBatch): mx.array {
    const length = batch.ids[0].length;
    const ids = mx.array(batch.ids, mx.int32);
    const typeIds = batch.typeIds ? mx.array(batch.typeIds, mx.int32) : mx.zeros([batch.ids.length, length], mx.int32);
    let h = mx.add(mx.add(this.words.forward(ids), this.positions.forward(this.positionIds(batch))), this.types.forward(typeIds));
    h = this.embeddingNorm.forward(h);
    const mask = paddingMask(batch.lengths, length, h.dtype);
    for (const layer of this.layers) {
      h = layer.attentionNorm.forward(mx.add(h, layer.attention.forward(h, mask)));
      h = layer.outputNorm.forward(mx.add(h, layer.output.forward(gelu(layer.intermediate.forward(h)))));
    }
    return h;
  }

  private positionIds(batch: EncoderBatch): mx.array {
    const length = batch.ids[0].length;
    if (!this.c.positionsAfterPadding) {
      return mx.arange(0, length, 1, mx.int32);
    }
    // As Hugging Face computes them from the ids: a running count of non-padding tokens, padding_idx for padding.
    const pad = this.c.padId;
    return mx.array(
      batch.ids.map((row) => {
        let seen = 0;
        return row.map((id) => (id === pad ? pad : pad + ++seen));
      }),
      mx.int32,
    );
  }
}

/** BertModel's `embeddings.*` and `encoder.layer.<i>.*` under `prefix`. */
export function buildBertEncoder(config: ModelConfig, store: WeightStore): BertEncoder {
  const c = readBertConfig(config);
  const w = store.scoped(encoderPrefix(store));
  const headDim = c.hidden / c.heads;
  const layers = Array.from({ length: c.layers }, (_, i): BertLayer => {
    const p = `encoder.layer.${i}`;
    const linear = (module: string, inFeatures: number, outFeatures: number) => w.linear(`${p}.${module}`, inFeatures, outFeatures, { bias: true });
    return {
      attention: new BidirectionalAttention({
        qkv: separateQkv(linear('attention.self.query', c.hidden, c.hidden), linear('attention.self.key', c.hidden, c.hidden), linear('attention.self.value', c.hidden, c.hidden)),
        out: linear('attention.output.dense', c.hidden, c.hidden),
        heads: c.heads,
        scale: 1 / Math.sqrt(headDim),
      }),
      attentionNorm: w.layerNorm(`${p}.attention.output.LayerNorm`, c.hidden, c.eps),
      intermediate: linear('intermediate.dense', c.hidden, c.intermediate),
      output: linear('output.dense', c.intermediate, c.hidden),
      outputNorm: w.layerNorm(`${p}.output.LayerNorm`, c.hidden, c.eps),
    };
  });
  return new BertEncoder(
    c,
    w.embedding('embeddings.word_embeddings', c.vocabSize, c.hidden),
    w.embedding('embeddings.position_embeddings', c.maxPositionEmbeddings, c.hidden),
    w.embedding('embeddings.token_type_embeddings', c.typeVocabSize, c.hidden),
    w.layerNorm('embeddings.LayerNorm', c.hidden, c.eps),
    layers,
  );
}

/** Tensors the BERT family never reads: the legacy int64 `embeddings.position_ids` buffer, and MLM heads. */
export function bertUsesTensor(name: string): boolean {
  return !name.endsWith('embeddings.position_ids') && !name.startsWith('cls.') && !name.startsWith('lm_head.');
}
