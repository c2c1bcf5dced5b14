import { core as mx } from '@frost-beta/mlx';
import { silu } from './activations';
import type { Linear } from './layers';

/**
 * Layer norm over the last axis: (x − mean) / √(var + eps), then · weight (+ bias) when the layer has
 * them (FLUX's block norms have neither, ModernBERT's no bias).
 */
export class LayerNorm {
  constructor(
    private readonly eps: number,
    private readonly weight?: mx.array,
    private readonly bias?: mx.array,
  ) {}

  forward(x: mx.array): mx.array {
    return mx.fast.layerNorm(x, this.weight ?? null, this.bias ?? null, this.eps);
  }
}

/**
 * Each group of consecutive channels of x [batch, positions, channels] normalised over its channels and
 * all positions together, with the biased variance (PyTorch's GroupNorm and InstanceNorm1d, before their
 * affine). Statistics in float32 whatever the input dtype, because a 512-channel 128×128 group sums
 * millions of values. One channel per group is reduced over positions alone: no size-1 axis reaches the
 * reduction (see foldWeightNorm for what that does to this binding's CPU reductions of some views).
 */
function normaliseGroups(x: mx.array, groups: number, eps: number): mx.array {
  const [batch, positions, channels] = x.shape;
  const perGroup = channels / groups;
  const wide = x.astype(mx.float32);
  const grouped = perGroup === 1 ? wide : wide.reshape(batch, positions, groups, perGroup);
  const axes = perGroup === 1 ? [1] : [1, 3];
  const normalised = mx.multiply(mx.subtract(grouped, mx.mean(grouped, axes, true)), mx.rsqrt(mx.add(mx.variance(grouped, axes, true), eps)));
  return normalised.reshape(batch, positions, channels).astype(x.dtype);
}

/** Group norm of channels-last feature maps [batch, height, width, channels], then scaled and shifted per channel. */
export class GroupNorm {
  constructor(
    private readonly groups: number,
    private readonly eps: number,
    private readonly weight: mx.array,
    private readonly bias: mx.array,
  ) {}

  forward(x: mx.array): mx.array {
    const [batch, height, width, channels] = x.shape;
    const normalised = normaliseGroups(x.reshape(batch, height * width, channels), this.groups, this.eps).reshape(batch, height, width, channels);
    return mx.add(mx.multiply(normalised, this.weight), this.bias);
  }
}

/** Instance norm of channels-last x [batch, length, channels]: each channel normalised over time (PyTorch's InstanceNorm1d). */
export function instanceNorm(x: mx.array, eps: number): mx.array {
  return normaliseGroups(x, x.shape[2], eps);
}

/** A style vector s [batch, style] projected to per-channel (1 + γ, β), each [batch, 1, channels]. */
function styleAffine(fc: Linear, style: mx.array, channels: number): [mx.array, mx.array] {
  const h = fc.forward(style);
  const [gamma, beta] = mx.split(h, [channels], -1);
  return [mx.add(gamma.reshape(h.shape[0], 1, channels), 1), beta.reshape(h.shape[0], 1, channels)];
}

/**
 * Adaptive instance norm (StyleTTS 2's AdaIN1d): (1 + γ(s)) · IN(x) + β(s). `affine` is the
 * InstanceNorm's own weight and bias, which some exports carry (they are ones and zeros when trained
 * without them).
 */
export class AdaIN1d {
  constructor(
    private readonly fc: Linear,
    private readonly channels: number,
    private readonly affine?: { weight: mx.array; bias: mx.array },
    private readonly eps = 1e-5,
  ) {}

  forward(x: mx.array, style: mx.array): mx.array {
    let normed = instanceNorm(x, this.eps);
    if (this.affine) {
      normed = mx.add(mx.multiply(normed, this.affine.weight), this.affine.bias);
    }
    const [scale, shift] = styleAffine(this.fc, style, this.channels);
    return mx.add(mx.multiply(scale, normed), shift);
  }
}

/** Adaptive layer norm over channels (StyleTTS 2's AdaLayerNorm): (1 + γ(s)) · LN(x) + β(s), x [batch, length, channels]. */
export class AdaLayerNorm {
  private readonly norm: LayerNorm;

  constructor(
    private readonly fc: Linear,
    private readonly channels: number,
    eps = 1e-5,
  ) {
    this.norm = new LayerNorm(eps);
  }

  forward(x: mx.array, style: mx.array): mx.array {
    const [scale, shift] = styleAffine(this.fc, style, this.channels);
    return mx.add(mx.multiply(scale, this.norm.forward(x)), shift);
  }
}

/**
 * The adaptive norms' parameters of a diffusion transformer block (DiT's adaLN-Zero, as F5-TTS and FLUX
 * use it): a conditioning vector c [batch, features] (the timestep's embedding) through linear(silu(c)),
 * cut into `parts` per-channel vectors, each [batch, 1, channels], in the order the checkpoint trained them
 * (shift, scale, gate … for F5's blocks).
 */
export function adaptiveParameters(linear: Linear, condition: mx.array, parts: number): mx.array[] {
  const h = linear.forward(silu(condition));
  const [batch, width] = h.shape;
  return mx.split(h.reshape(batch, 1, width), parts, -1);
}

/** A layer norm without weights of its own, scaled and shifted by the adaptive parameters: LN(x) · (1 + scale) + shift. */
export function modulatedLayerNorm(x: mx.array, shift: mx.array, scale: mx.array, eps: number): mx.array {
  return mx.add(mx.multiply(mx.fast.layerNorm(x, null, null, eps), mx.add(scale, 1)), shift);
}
