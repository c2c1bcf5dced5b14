import { core as mx } from '@frost-beta/mlx';
import { silu } from './activations';
import type { Linear } from './layers';

/** Layer norm with a learned scale and shift: (x − mean) / √(var + eps) · weight (+ bias; ModernBERT has none). */
export class LayerNorm {
  constructor(
    readonly weight: mx.array,
    readonly bias: mx.array | undefined,
    private readonly eps = 1e-5,
  ) {}

  forward(x: mx.array): mx.array {
    return mx.fast.layerNorm(x, this.weight, this.bias ?? null, this.eps);
  }
}

/**
 * Instance norm of channels-last x [batch, length, channels]: each channel normalised over time
 * with its biased variance (PyTorch's InstanceNorm1d, which sees [batch, channels, length]).
 */
export function instanceNorm(x: mx.array, eps: number): mx.array {
  const mean = mx.mean(x, 1, true);
  const centred = mx.subtract(x, mean);
  const variance = mx.mean(mx.square(centred), 1, true);
  return mx.multiply(centred, mx.rsqrt(mx.add(variance, eps)));
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
  constructor(
    private readonly fc: Linear,
    private readonly channels: number,
    private readonly eps = 1e-5,
  ) {}

  forward(x: mx.array, style: mx.array): mx.array {
    const [scale, shift] = styleAffine(this.fc, style, this.channels);
    return mx.add(mx.multiply(scale, mx.fast.layerNorm(x, null, null, this.eps)), shift);
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
