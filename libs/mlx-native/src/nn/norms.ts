import { core as mx } from '@frost-beta/mlx';

/** Layer norm with a learned scale and shift: (x − mean) / √(var + eps) · weight + bias. */
export class LayerNorm {
  constructor(
    readonly weight: mx.array,
    readonly bias: mx.array,
    private readonly eps = 1e-5,
  ) {}

  forward(x: mx.array): mx.array {
    return mx.fast.layerNorm(x, this.weight, this.bias, this.eps);
  }
}
