import { core as mx } from '@frost-beta/mlx';
import type { WeightStore } from '../../io/weight-store';
import { silu } from '../../nn/activations';
import { upsampleNearest2x, type Conv2d, type ConvKernelLayout } from '../../nn/conv';
import { MultiHeadAttention } from '../../nn/multi-head-attention';
import type { GroupNorm } from '../../nn/norms';
import type { VaeDecoderConfig } from './config';
import type { SliceRunner } from './slices';

/** diffusers' ResnetBlock2D: two group-norm → SiLU → 3×3 conv stages and a 1×1 shortcut when the width changes. */
class ResnetBlock {
  private readonly norm1: GroupNorm;
  private readonly conv1: Conv2d;
  private readonly norm2: GroupNorm;
  private readonly conv2: Conv2d;
  private readonly shortcut: Conv2d | undefined;

  constructor(weights: WeightStore, prefix: string, inChannels: number, outChannels: number, c: VaeDecoderConfig, layout: ConvKernelLayout) {
    this.norm1 = weights.groupNorm(`${prefix}.norm1`, c.groups, inChannels, c.eps);
    this.conv1 = weights.conv2d(`${prefix}.conv1`, inChannels, outChannels, 3, layout);
    this.norm2 = weights.groupNorm(`${prefix}.norm2`, c.groups, outChannels, c.eps);
    this.conv2 = weights.conv2d(`${prefix}.conv2`, outChannels, outChannels, 3, layout);
    this.shortcut = inChannels === outChannels ? undefined : weights.conv2d(`${prefix}.conv_shortcut`, inChannels, outChannels, 1, layout);
  }

  forward(x: mx.array): mx.array {
    const h = this.conv2.forward(silu(this.norm2.forward(this.conv1.forward(silu(this.norm1.forward(x))))));
    return mx.add(this.shortcut ? this.shortcut.forward(x) : x, h);
  }
}

/** The mid block's single-head self-attention over all positions, with a residual. */
class SpatialAttention {
  private readonly norm: GroupNorm;
  private readonly attention: MultiHeadAttention;

  constructor(weights: WeightStore, prefix: string, channels: number, c: VaeDecoderConfig) {
    this.norm = weights.groupNorm(`${prefix}.group_norm`, c.groups, channels, c.eps);
    this.attention = new MultiHeadAttention({
      query: weights.pointwise(`${prefix}.to_q`, channels, channels),
      key: weights.pointwise(`${prefix}.to_k`, channels, channels),
      value: weights.pointwise(`${prefix}.to_v`, channels, channels),
      out: weights.pointwise(`${prefix}.to_out.0`, channels, channels),
      heads: 1,
      headDim: channels,
    });
  }

  forward(x: mx.array): mx.array {
    const [batch, height, width, channels] = x.shape;
    const tokens = this.norm.forward(x).reshape(batch, height * width, channels);
    return mx.add(x, this.attention.selfAttend(tokens).reshape(batch, height, width, channels));
  }
}

interface UpBlock {
  resnets: ResnetBlock[];
  upsample: Conv2d | undefined;
}

/**
 * AutoencoderKL's decoder: latents [1, h, w, latentChannels] (channels-last, un-scaled as the model
 * wants: z / scaling + shift) → RGB in [0, 1], 2^(levels−1) times larger. Channels, levels, blocks per
 * level and group-norm groups come from the config.
 */
export class VaeDecoder {
  private readonly postQuantConv: Conv2d | undefined;
  private readonly convIn: Conv2d;
  private readonly midResnets: [ResnetBlock, ResnetBlock];
  private readonly midAttention: SpatialAttention | undefined;
  private readonly upBlocks: UpBlock[];
  private readonly normOut: GroupNorm;
  private readonly convOut: Conv2d;

  constructor(
    weights: WeightStore,
    readonly config: VaeDecoderConfig,
    layout: ConvKernelLayout,
  ) {
    const c = config;
    const reversed = [...c.blockOutChannels].reverse();
    const top = reversed[0];
    this.postQuantConv = c.postQuantConv ? weights.conv2d('post_quant_conv', c.latentChannels, c.latentChannels, 1, layout) : undefined;
    this.convIn = weights.conv2d('decoder.conv_in', c.latentChannels, top, 3, layout);
    this.midResnets = [0, 1].map((i) => new ResnetBlock(weights, `decoder.mid_block.resnets.${i}`, top, top, c, layout)) as [ResnetBlock, ResnetBlock];
    this.midAttention = c.midBlockAttention ? new SpatialAttention(weights, 'decoder.mid_block.attentions.0', top, c) : undefined;
    let channels = top;
    this.upBlocks = reversed.map((outChannels, level) => {
      const resnets = Array.from({ length: c.layersPerBlock + 1 }, (_, r) => {
        const block = new ResnetBlock(weights, `decoder.up_blocks.${level}.resnets.${r}`, r === 0 ? channels : outChannels, outChannels, c, layout);
        return block;
      });
      channels = outChannels;
      const last = level === reversed.length - 1;
      return { resnets, upsample: last ? undefined : weights.conv2d(`decoder.up_blocks.${level}.upsamplers.0.conv`, outChannels, outChannels, 3, layout) };
    });
    this.normOut = weights.groupNorm('decoder.conv_norm_out', c.groups, channels, c.eps);
    this.convOut = weights.conv2d('decoder.conv_out', channels, c.outChannels, 3, layout);
  }

  /** How many pixels one latent spans per side. */
  get scaleFactor(): number {
    return 2 ** (this.config.blockOutChannels.length - 1);
  }

  /** Scaled latents [1, h, w, latentChannels] → image [1, H, W, 3] in [0, 1]; one slice per stage. */
  async decode(latents: mx.array, run: SliceRunner): Promise<mx.array> {
    let x = await run(() => {
      const z = mx.add(mx.divide(latents, this.config.scalingFactor), this.config.shiftFactor);
      const quantised = this.postQuantConv ? this.postQuantConv.forward(z) : z;
      return this.midResnets[0].forward(this.convIn.forward(quantised));
    });
    x = await run(() => {
      const attended = this.midAttention ? this.midAttention.forward(x) : x;
      return this.midResnets[1].forward(attended);
    });
    for (const block of this.upBlocks) {
      for (const resnet of block.resnets) {
        x = await run(() => resnet.forward(x));
      }
      if (block.upsample) {
        const upsample = block.upsample;
        x = await run(() => upsample.forward(upsampleNearest2x(x)));
      }
    }
    return run(() => {
      const rgb = this.convOut.forward(silu(this.normOut.forward(x)));
      return mx.clip(mx.add(mx.multiply(rgb, 0.5), 0.5), 0, 1);
    });
  }
}
