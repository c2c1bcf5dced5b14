import { core as mx } from '@frost-beta/mlx';
import { silu } from '../../nn/activations';
import type { BidirectionalAttention } from '../../nn/attention';
import type { Linear } from '../../nn/layers';
import { adaptiveParameters, modulatedLayerNorm } from '../../nn/norms';
import { sinusoidalEmbedding } from '../../nn/sinusoidal';
import { ConvPositionEmbedding, F5_NORM_EPS, f5Attention, f5Rope, FeedForward, TextEmbedding, type F5Weights } from './modules';

/** The DiT's sizes, every one read from the checkpoint's shapes. */
export interface DitDims {
  dim: number;
  depth: number;
  heads: number;
  headDim: number;
  mels: number;
  textDim: number;
  /** Rows of the character embedding: the vocabulary and the filler id 0. */
  textRows: number;
  /** Width of the sinusoidal timestep features. */
  timeFeatures: number;
}

/** One DiT block: adaLN-Zero modulated attention and feed-forward, each gated into the residual stream. */
class DitBlock {
  private readonly modulation: Linear;
  private readonly attention: BidirectionalAttention;
  private readonly ff: FeedForward;

  constructor(w: F5Weights, prefix: string, dim: number, rope: ReturnType<typeof f5Rope>) {
    this.modulation = w.linear(`${prefix}.attn_norm.linear`, dim, 6 * dim);
    this.attention = f5Attention(w, `${prefix}.attn`, dim, rope.rope, rope.headDim);
    this.ff = new FeedForward(w, `${prefix}.ff`, dim);
  }

  forward(x: mx.array, time: mx.array): mx.array {
    const [shiftAttn, scaleAttn, gateAttn, shiftFf, scaleFf, gateFf] = adaptiveParameters(this.modulation, time, 6);
    const attended = this.attention.forward(modulatedLayerNorm(x, shiftAttn, scaleAttn, F5_NORM_EPS), undefined);
    const h = mx.add(x, mx.multiply(gateAttn, attended));
    return mx.add(h, mx.multiply(gateFf, this.ff.forward(modulatedLayerNorm(h, shiftFf, scaleFf, F5_NORM_EPS))));
  }
}

/**
 * F5-TTS's flow-matching transformer (SWivid's DiT, as f5-tts-mlx runs it): the noisy mel x, the masked
 * reference mel and the character embeddings are concatenated, projected and given convolutional
 * positions; DiT blocks conditioned on the timestep follow, and a modulated final norm and projection
 * give the flow's velocity for every frame.
 */
export class Dit {
  readonly dims: DitDims;
  readonly text: TextEmbedding;
  private readonly timeIn: Linear;
  private readonly timeOut: Linear;
  private readonly inputProjection: Linear;
  private readonly positions: ConvPositionEmbedding;
  private readonly blocks: DitBlock[];
  private readonly finalModulation: Linear;
  private readonly output: Linear;

  constructor(w: F5Weights) {
    const p = 'transformer';
    const [dim, timeFeatures] = w.moduleShape(`${p}.time_embed.time_mlp.0`);
    const mels = w.moduleShape(`${p}.proj_out`)[0];
    this.text = new TextEmbedding(w, `${p}.text_embed`, true);
    const rope = f5Rope(w, p);
    const depth = w.count(`${p}.transformer_blocks`, 'attn_norm.linear.bias');
    this.dims = {
      dim,
      depth,
      heads: w.moduleShape(`${p}.transformer_blocks.0.attn.to_q`)[0] / rope.headDim,
      headDim: rope.headDim,
      mels,
      textDim: this.text.width,
      textRows: this.text.rows,
      timeFeatures,
    };
    this.timeIn = w.linear(`${p}.time_embed.time_mlp.0`, timeFeatures, dim);
    this.timeOut = w.linear(`${p}.time_embed.time_mlp.2`, dim, dim);
    this.inputProjection = w.linear(`${p}.input_embed.proj`, 2 * mels + this.text.width, dim);
    this.positions = new ConvPositionEmbedding(w, `${p}.input_embed.conv_pos_embed`, dim);
    this.blocks = Array.from({ length: depth }, (_, i) => new DitBlock(w, `${p}.transformer_blocks.${i}`, dim, rope));
    this.finalModulation = w.linear(`${p}.norm_out.linear`, dim, 2 * dim);
    this.output = w.linear(`${p}.proj_out`, dim, mels);
  }

  /** The timestep t ∈ [0, 1] as the blocks' conditioning vector [1, dim]. */
  timeEmbedding(t: number): mx.array {
    const features = sinusoidalEmbedding(mx.array([t], mx.float32), this.dims.timeFeatures, { order: 'sin-cos', scale: 1000, frequencyShift: 1 });
    return this.timeOut.forward(silu(this.timeIn.forward(features)));
  }

  /**
   * The velocity [batch, frames, mels] at time t of x [batch, frames, mels], given the reference mel `cond`
   * (zero where generated) and the text embedding, both [batch, frames, ·] (a row with both zeroed is the
   * unconditional prediction classifier-free guidance needs).
   */
  forward(x: mx.array, cond: mx.array, text: mx.array, t: number): mx.array {
    const time = this.timeEmbedding(t);
    let h = this.positions.forward(this.inputProjection.forward(mx.concatenate([x, cond, text], -1)));
    for (const block of this.blocks) {
      h = block.forward(h, time);
    }
    const [scale, shift] = adaptiveParameters(this.finalModulation, time, 2);
    return this.output.forward(modulatedLayerNorm(h, shift, scale, F5_NORM_EPS));
  }
}
