import { core as mx } from '@frost-beta/mlx';
import type { WeightStore } from '../../io/weight-store';
import { requireActivation, type Activation } from '../../nn/activations';
import { causalMask } from '../../nn/full-attention';
import type { Embedding, Linear } from '../../nn/layers';
import { MultiHeadAttention } from '../../nn/multi-head-attention';
import type { LayerNorm } from '../../nn/norms';
import type { ClipTextConfig } from './config';

class ClipLayer {
  private readonly norm1: LayerNorm;
  private readonly attention: MultiHeadAttention;
  private readonly norm2: LayerNorm;
  private readonly fc1: Linear;
  private readonly fc2: Linear;

  constructor(
    weights: WeightStore,
    prefix: string,
    c: ClipTextConfig,
    private readonly activation: Activation,
  ) {
    const linear = (name: string, inF: number, outF: number) => weights.linear(`${prefix}.${name}`, inF, outF, { bias: true });
    this.norm1 = weights.layerNorm(`${prefix}.layer_norm1`, c.hidden, c.eps);
    this.attention = new MultiHeadAttention({
      query: linear('self_attn.q_proj', c.hidden, c.hidden),
      key: linear('self_attn.k_proj', c.hidden, c.hidden),
      value: linear('self_attn.v_proj', c.hidden, c.hidden),
      out: linear('self_attn.out_proj', c.hidden, c.hidden),
      heads: c.heads,
      headDim: c.hidden / c.heads,
    });
    this.norm2 = weights.layerNorm(`${prefix}.layer_norm2`, c.hidden, c.eps);
    this.fc1 = linear('mlp.fc1', c.hidden, c.intermediate);
    this.fc2 = linear('mlp.fc2', c.intermediate, c.hidden);
  }

  forward(x: mx.array, mask: mx.array): mx.array {
    const y = mx.add(x, this.attention.selfAttend(this.norm1.forward(x), { mask }));
    return mx.add(y, this.fc2.forward(this.activation(this.fc1.forward(this.norm2.forward(y)))));
  }
}

/** CLIP's text transformer (CLIPTextModel): causal pre-norm layers; FLUX uses its pooled output only. */
export class ClipTextEncoder {
  private readonly tokenEmbedding: Embedding;
  private readonly positionEmbedding: mx.array;
  private readonly layers: ClipLayer[];
  private readonly finalNorm: LayerNorm;

  constructor(
    weights: WeightStore,
    readonly config: ClipTextConfig,
  ) {
    const c = config;
    const activation = requireActivation(c.activation, 'text_encoder config (hidden_act)');
    this.tokenEmbedding = weights.embedding('text_model.embeddings.token_embedding', c.vocabSize, c.hidden);
    this.positionEmbedding = weights.tensor('text_model.embeddings.position_embedding.weight', [c.maxPositions, c.hidden]);
    this.layers = Array.from({ length: c.layers }, (_, i) => new ClipLayer(weights, `text_model.encoder.layers.${i}`, c, activation));
    this.finalNorm = weights.layerNorm('text_model.final_layer_norm', c.hidden, c.eps);
  }

  /**
   * The pooled output [1, hidden] of token ids (padded to the tokenizer's length): the final hidden
   * state at `poolIndex`, the first end-of-text token, as CLIPTextModel's pooler_output.
   */
  pooled(ids: readonly number[], poolIndex: number): mx.array {
    const length = ids.length;
    let x = mx.add(this.tokenEmbedding.forward(mx.array([...ids], mx.int32).reshape(1, length)), this.positionEmbedding.index(mx.Slice(0, length)));
    const mask = causalMask(length, x.dtype);
    for (const layer of this.layers) {
      x = layer.forward(x, mask);
    }
    return this.finalNorm.forward(x).index(mx.Slice(), poolIndex);
  }
}
