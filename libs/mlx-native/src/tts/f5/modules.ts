import { core as mx } from '@frost-beta/mlx';
import { MissingTensorError } from '../../io/errors';
import { ResidentWeights, type ConvLayout } from '../../io/resident-weights';
import type { WeightStore } from '../../io/weight-store';
import { geluTanh, mish } from '../../nn/activations';
import { BidirectionalAttention, separateQkv } from '../../nn/attention';
import type { Conv1d } from '../../nn/conv';
import { ConvNeXtBlock, GlobalResponseNorm } from '../../nn/convnext';
import type { Embedding, Linear } from '../../nn/layers';
import { ropeFromFrequencies, type Rope } from '../../nn/rope';
import { sinusoidalEmbedding } from '../../nn/sinusoidal';

/** F5's layer norms all take eps 1e-6 (ConvNeXt's, the DiT blocks' and Vocos's). */
export const F5_NORM_EPS = 1e-6;

/** An F5 checkpoint (DiT, duration model or Vocos) with the convolution layout its naming implies. */
export class F5Weights extends ResidentWeights {
  constructor(
    store: WeightStore,
    modelDir: string,
    readonly layout: ConvLayout,
  ) {
    super(store, modelDir);
  }

  /** How many numbered children `prefix.0`, `prefix.1`, … have a tensor `prefix.<i>.<probe>`. */
  count(prefix: string, probe: string): number {
    let n = 0;
    while (this.has(`${prefix}.${n}.${probe}`)) {
      n++;
    }
    return n;
  }

  /**
   * A 1-D convolution of an `inChannels`-wide input in the checkpoint's layout, padded to keep the length;
   * its outputs, kernel and groups read from the stored weight.
   */
  conv(module: string, inChannels: number): Conv1d {
    const shape = this.storedShape(`${module}.weight`);
    const [outChannels, kernel, perGroup] = this.layout === 'torch' ? [shape[0], shape[2], shape[1]] : [shape[0], shape[1], shape[2]];
    return this.conv1d(module, { inChannels, outChannels, kernel, groups: inChannels / perGroup, padding: Math.floor(kernel / 2) }, this.layout);
  }

  /** The checkpoint's own rotary inverse frequencies (`inv_freq`, one per pair of head dimensions). */
  rotaryFrequencies(module: string): Float32Array {
    const name = `${module}.inv_freq`;
    if (!this.has(name)) {
      throw new MissingTensorError(name, this.modelDir);
    }
    return Float32Array.from(this.tensor(name, this.storedShape(name)).tolist() as number[]);
  }
}

/**
 * The text encoder of F5-TTS (and of its duration model): characters embedded (id + 1, 0 being the
 * filler of positions past the text), then, when the checkpoint has ConvNeXt V2 blocks, a sinusoidal
 * position table added and the blocks run, padding positions zeroed before and after each block if
 * `maskPadding` (the DiT of F5 v1; the duration model does not).
 */
export class TextEmbedding {
  private readonly embed: Embedding;
  private readonly blocks: ConvNeXtBlock[];
  readonly width: number;
  readonly rows: number;

  constructor(
    w: F5Weights,
    prefix: string,
    private readonly maskPadding: boolean,
  ) {
    [this.rows, this.width] = w.moduleShape(`${prefix}.text_embed`);
    this.embed = w.embedding(`${prefix}.text_embed`, this.rows, this.width);
    const blocks = w.count(`${prefix}.text_blocks`, 'norm.weight');
    this.blocks = Array.from({ length: blocks }, (_, i) => {
      const block = `${prefix}.text_blocks.${i}`;
      const inner = w.moduleShape(`${block}.pwconv1`)[0];
      return new ConvNeXtBlock({
        depthwise: w.conv(`${block}.dwconv`, this.width),
        norm: w.layerNorm(`${block}.norm`, this.width, F5_NORM_EPS),
        expand: w.linear(`${block}.pwconv1`, this.width, inner),
        responseNorm: new GlobalResponseNorm(w.tensor(`${block}.grn.gamma`, [1, 1, inner]), w.tensor(`${block}.grn.beta`, [1, 1, inner])),
        project: w.linear(`${block}.pwconv2`, inner, this.width),
      });
    });
  }

  /** tokens [batch, length] of (vocabulary id + 1), 0 past the text; `padding` [batch, length, 1] true where the text had none. */
  forward(tokens: mx.array, padding: mx.array): mx.array {
    let h = this.embed.forward(tokens);
    if (this.blocks.length === 0) {
      return h;
    }
    const length = tokens.shape[1];
    h = mx.add(h, sinusoidalEmbedding(mx.arange(0, length, 1, mx.float32), this.width, { order: 'cos-sin' }));
    const masked = (x: mx.array) => (this.maskPadding ? mx.where(padding, mx.zeros([1], x.dtype), x) : x);
    h = masked(h);
    for (const block of this.blocks) {
      h = masked(block.forward(h));
    }
    return h;
  }
}

/** Two grouped convolutions with Mish after each, added to their input: F5's convolutional position embedding. */
export class ConvPositionEmbedding {
  private readonly first: Conv1d;
  private readonly second: Conv1d;

  constructor(w: F5Weights, prefix: string, dim: number) {
    this.first = w.conv(`${prefix}.conv1d.0`, dim);
    this.second = w.conv(`${prefix}.conv1d.2`, dim);
  }

  /** x + convs(x). */
  forward(x: mx.array): mx.array {
    return mx.add(mish(this.second.forward(mish(this.first.forward(x)))), x);
  }
}

/** Self-attention of F5's blocks: q, k, v and the output projection with biases, x-transformers' interleaved rotary positions on every head. */
export function f5Attention(w: F5Weights, prefix: string, dim: number, rope: Rope, headDim: number): BidirectionalAttention {
  const inner = w.moduleShape(`${prefix}.to_q`)[0];
  const projection = (name: string) => w.linear(`${prefix}.${name}`, dim, inner);
  return new BidirectionalAttention({
    qkv: separateQkv(projection('to_q'), projection('to_k'), projection('to_v')),
    out: w.linear(`${prefix}.to_out.0`, inner, dim),
    heads: inner / headDim,
    scale: 1 / Math.sqrt(headDim),
    rope,
  });
}

/** The rotary embedding of a transformer's `rotary_embed` and the head width it implies (two dimensions per frequency). */
export function f5Rope(w: F5Weights, prefix: string): { rope: Rope; headDim: number } {
  const freqs = w.rotaryFrequencies(`${prefix}.rotary_embed`);
  return { rope: ropeFromFrequencies(freqs, true), headDim: 2 * freqs.length };
}

/** F5's feed-forward: Linear, tanh-approximated GELU, Linear. */
export class FeedForward {
  private readonly up: Linear;
  private readonly down: Linear;

  constructor(w: F5Weights, prefix: string, dim: number) {
    const inner = w.moduleShape(`${prefix}.ff.0.0`)[0];
    this.up = w.linear(`${prefix}.ff.0.0`, dim, inner);
    this.down = w.linear(`${prefix}.ff.2`, inner, dim);
  }

  forward(x: mx.array): mx.array {
    return this.down.forward(geluTanh(this.up.forward(x)));
  }
}
