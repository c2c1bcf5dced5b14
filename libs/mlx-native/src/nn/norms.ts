import { core as mx } from '@frost-beta/mlx';

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
 * Group norm of channels-last feature maps [batch, height, width, channels], as PyTorch's nn.GroupNorm
 * computes it: each group of consecutive channels is normalised over its channels and all positions
 * together, then scaled and shifted per channel. Statistics in float32 whatever the input dtype, because
 * a 512-channel 128×128 group sums millions of values.
 */
export class GroupNorm {
  constructor(
    private readonly groups: number,
    private readonly eps: number,
    private readonly weight: mx.array,
    private readonly bias: mx.array,
  ) {}

  forward(x: mx.array): mx.array {
    const [batch, height, width, channels] = x.shape;
    const grouped = x.astype(mx.float32).reshape(batch, height * width, this.groups, channels / this.groups);
    const mean = mx.mean(grouped, [1, 3], true);
    const variance = mx.variance(grouped, [1, 3], true);
    const normalised = mx.multiply(mx.subtract(grouped, mean), mx.rsqrt(mx.add(variance, this.eps)));
    const shaped = normalised.reshape(batch, height, width, channels).astype(x.dtype);
    return mx.add(mx.multiply(shaped, this.weight), this.bias);
  }
}
