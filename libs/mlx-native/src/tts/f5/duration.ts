import { core as mx } from '@frost-beta/mlx';
import { softplus } from '../../nn/activations';
import type { BidirectionalAttention } from '../../nn/attention';
import type { Linear, RMSNorm } from '../../nn/layers';
import { ConvPositionEmbedding, F5_NORM_EPS, f5Attention, f5Rope, FeedForward, TextEmbedding, type F5Weights } from './modules';

/** The RMSNorm of the duration model is MLX's nn.RMSNorm with its default eps. */
const RMS_EPS = 1e-5;

class DurationBlock {
  private readonly attention: BidirectionalAttention;
  private readonly ff: FeedForward;

  constructor(w: F5Weights, prefix: string, dim: number, rope: ReturnType<typeof f5Rope>) {
    this.attention = f5Attention(w, `${prefix}.attn`, dim, rope.rope, rope.headDim);
    this.ff = new FeedForward(w, `${prefix}.ff`, dim);
  }

  forward(x: mx.array): mx.array {
    const h = mx.add(x, this.attention.forward(mx.fast.layerNorm(x, null, null, F5_NORM_EPS), undefined));
    return mx.add(h, this.ff.forward(mx.fast.layerNorm(h, null, null, F5_NORM_EPS)));
  }
}

/**
 * f5-tts-mlx's duration model (`duration_v2.safetensors`): the reference mel and the whole text (reference
 * transcript and new text) through a pre-norm transformer with F5's text encoder and position embedding,
 * mean-pooled over the frames into the duration in seconds of reference and new speech together.
 */
export class DurationPredictor {
  readonly text: TextEmbedding;
  private readonly inputProjection: Linear;
  private readonly positions: ConvPositionEmbedding;
  private readonly blocks: DurationBlock[];
  private readonly norm: RMSNorm;
  private readonly head: Linear;
  private readonly mels: number;

  constructor(w: F5Weights) {
    const p = 'transformer';
    const dim = w.storedShape(`${p}.norm_out.weight`)[0];
    this.text = new TextEmbedding(w, `${p}.text_embed`, false);
    this.mels = w.moduleShape(`${p}.input_embed.proj`)[1] - this.text.width;
    this.inputProjection = w.linear(`${p}.input_embed.proj`, this.mels + this.text.width, dim);
    this.positions = new ConvPositionEmbedding(w, `${p}.input_embed.conv_pos_embed`, dim);
    const rope = f5Rope(w, p);
    const depth = w.count(`${p}.transformer_blocks`, 'attn.to_q.bias');
    this.blocks = Array.from({ length: depth }, (_, i) => new DurationBlock(w, `${p}.transformer_blocks.${i}`, dim, rope));
    this.norm = w.rmsNorm(`${p}.norm_out`, dim, RMS_EPS);
    this.head = w.linear('to_pred.0', dim, 1, false);
  }

  /**
   * Seconds of speech for the reference mel [frames, mels] and tokens [1, length] (vocabulary id + 1),
   * the mel zero-padded to the text's length when the text is longer, as upstream does.
   */
  forward(mel: mx.array, tokens: mx.array): mx.array {
    const length = Math.max(mel.shape[0], tokens.shape[1]);
    const padded = mx.pad(mel, [[0, length - mel.shape[0]], [0, 0]]).reshape(1, length, this.mels);
    const ids = mx.pad(tokens.index(mx.Slice(), mx.Slice(0, length)), [[0, 0], [0, length - tokens.shape[1]]]);
    const text = this.text.forward(ids, mx.equal(ids.reshape(1, length, 1), 0));
    let h = this.positions.forward(this.inputProjection.forward(mx.concatenate([padded, text], -1)));
    for (const block of this.blocks) {
      h = block.forward(h);
    }
    const pooled = mx.mean(this.norm.forward(h), 1);
    return softplus(this.head.forward(pooled)).reshape([-1]);
  }
}
