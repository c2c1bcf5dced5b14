import { core as mx } from '@frost-beta/mlx';
import type { WeightStore } from '../../io/weight-store';
import { requireActivation, type Activation } from '../../nn/activations';
import type { Embedding, Linear, RMSNorm } from '../../nn/layers';
import { MultiHeadAttention } from '../../nn/multi-head-attention';
import { relativePositionBuckets } from '../../nn/relative-position';
import type { T5EncoderConfig } from './config';

class T5Block {
  private readonly attentionNorm: RMSNorm;
  private readonly attention: MultiHeadAttention;
  private readonly ffNorm: RMSNorm;
  private readonly wi0: Linear;
  private readonly wi1: Linear;
  private readonly wo: Linear;

  constructor(
    weights: WeightStore,
    prefix: string,
    c: T5EncoderConfig,
    private readonly activation: Activation,
  ) {
    const inner = c.heads * c.dKv;
    const attention = `${prefix}.layer.0`;
    const ff = `${prefix}.layer.1`;
    this.attentionNorm = weights.rmsNorm(`${attention}.layer_norm`, c.dModel, c.eps);
    this.attention = new MultiHeadAttention({
      query: weights.linear(`${attention}.SelfAttention.q`, c.dModel, inner),
      key: weights.linear(`${attention}.SelfAttention.k`, c.dModel, inner),
      value: weights.linear(`${attention}.SelfAttention.v`, c.dModel, inner),
      out: weights.linear(`${attention}.SelfAttention.o`, inner, c.dModel),
      heads: c.heads,
      headDim: c.dKv,
      // T5 folds the 1/√d scaling into its initialisation: scores are plain q·k plus the position bias.
      scale: 1,
    });
    this.ffNorm = weights.rmsNorm(`${ff}.layer_norm`, c.dModel, c.eps);
    this.wi0 = weights.linear(`${ff}.DenseReluDense.wi_0`, c.dModel, c.dFf);
    this.wi1 = weights.linear(`${ff}.DenseReluDense.wi_1`, c.dModel, c.dFf);
    this.wo = weights.linear(`${ff}.DenseReluDense.wo`, c.dFf, c.dModel);
  }

  forward(x: mx.array, positionBias: mx.array): mx.array {
    const y = mx.add(x, this.attention.selfAttend(this.attentionNorm.forward(x), { mask: positionBias }));
    const f = this.ffNorm.forward(y);
    return mx.add(y, this.wo.forward(mx.multiply(this.activation(this.wi0.forward(f)), this.wi1.forward(f))));
  }
}

/**
 * T5 v1.1's encoder (T5EncoderModel): RMS-norm pre-norm blocks with bidirectional attention biased by
 * relative-position buckets (one table, in the first block, shared by all) and a gated GELU feed-forward.
 */
export class T5Encoder {
  private readonly embedding: Embedding;
  private readonly relativeBias: Embedding;
  private readonly blocks: T5Block[];
  private readonly finalNorm: RMSNorm;

  constructor(
    weights: WeightStore,
    readonly config: T5EncoderConfig,
  ) {
    const c = config;
    const activation = requireActivation(c.activation, 'text_encoder_2 config (feed_forward_proj)');
    this.embedding = weights.embedding('shared', c.vocabSize, c.dModel);
    this.relativeBias = weights.embedding('encoder.block.0.layer.0.SelfAttention.relative_attention_bias', c.numBuckets, c.heads);
    this.blocks = Array.from({ length: c.layers }, (_, i) => new T5Block(weights, `encoder.block.${i}`, c, activation));
    this.finalNorm = weights.rmsNorm('encoder.final_layer_norm', c.dModel, c.eps);
  }

  /** Encoder states [1, length, dModel] of token ids (padded; FLUX attends to the padding too, as diffusers does). */
  encode(ids: readonly number[]): mx.array {
    const length = ids.length;
    const buckets = relativePositionBuckets(length, length, { bidirectional: true, numBuckets: this.config.numBuckets, maxDistance: this.config.maxDistance });
    const bias = this.relativeBias.forward(mx.array(Array.from(buckets), mx.int32).reshape(length, length)).transpose(2, 0, 1);
    let x = this.embedding.forward(mx.array([...ids], mx.int32).reshape(1, length));
    const positionBias = mx.expandDims(bias, 0).astype(x.dtype);
    for (const block of this.blocks) {
      x = block.forward(x, positionBias);
    }
    return this.finalNorm.forward(x);
  }
}
