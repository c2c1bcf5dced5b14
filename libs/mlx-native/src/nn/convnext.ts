import { core as mx } from '@frost-beta/mlx';
import { gelu } from './activations';
import type { Conv1d } from './conv';
import type { Linear } from './layers';
import type { LayerNorm } from './norms';

/**
 * ConvNeXt V2's global response normalisation over x [batch, length, channels]: each channel's L2 norm
 * over the whole sequence, divided by the mean of those norms across channels, rescales the input;
 * γ (x · N(x)) + β + x. γ and β broadcast against x ([1, 1, channels] as checkpoints store them).
 */
export class GlobalResponseNorm {
  constructor(
    private readonly gamma: mx.array,
    private readonly beta: mx.array,
    private readonly eps = 1e-6,
  ) {}

  forward(x: mx.array): mx.array {
    const norms = mx.sqrt(mx.sum(mx.square(x), 1, true));
    const relative = mx.divide(norms, mx.add(mx.mean(norms, -1, true), this.eps));
    return mx.add(mx.add(mx.multiply(this.gamma, mx.multiply(x, relative)), this.beta), x);
  }
}

export interface ConvNeXtParts {
  /** The depthwise convolution (kernel 7, same padding). */
  depthwise: Conv1d;
  norm: LayerNorm;
  /** The pointwise expansion and projection, as linear layers. */
  expand: Linear;
  project: Linear;
  /** ConvNeXt V2 (F5-TTS's text blocks) normalises the expanded features; V1 does not. */
  responseNorm?: GlobalResponseNorm;
  /** V1's learnt per-channel layer scale γ (Vocos), multiplying the block's output. */
  layerScale?: mx.array;
}

/**
 * A 1-D ConvNeXt block over x [batch, length, channels]: x + project(GRN?(GELU(expand(LN(depthwise(x)))))) · γ?,
 * the V1 block with layer scale that Vocos stacks and the V2 block with global response normalisation of
 * F5-TTS's text encoder.
 */
export class ConvNeXtBlock {
  constructor(private readonly p: ConvNeXtParts) {}

  forward(x: mx.array): mx.array {
    let h = gelu(this.p.expand.forward(this.p.norm.forward(this.p.depthwise.forward(x))));
    if (this.p.responseNorm) {
      h = this.p.responseNorm.forward(h);
    }
    h = this.p.project.forward(h);
    if (this.p.layerScale) {
      h = mx.multiply(h, this.p.layerScale);
    }
    return mx.add(x, h);
  }
}
