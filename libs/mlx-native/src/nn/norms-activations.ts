import { core as mx } from '@frost-beta/mlx';

/** Layer norm over the last axis: (x − mean) / √(var + eps) · weight (+ bias; ModernBERT has none). */
export class LayerNorm {
  constructor(
    readonly weight: mx.array,
    readonly bias: mx.array | undefined,
    private readonly eps: number,
  ) {}

  forward(x: mx.array): mx.array {
    return mx.fast.layerNorm(x, this.weight, this.bias ?? null, this.eps);
  }
}

/**
 * GELU with the exact erf form (Hugging Face's `gelu`, BERT's and ModernBERT's activation):
 * ½x(1 + erf(x/√2)). Compiled for the same reason as the gatings: one pass, one array left behind.
 */
export const gelu: (x: mx.array) => mx.array = mx.compile((x: mx.array) => mx.multiply(mx.multiply(x, 0.5), mx.add(mx.erf(mx.multiply(x, Math.SQRT1_2)), 1)));

/** GeGLU with exact GELU (ModernBERT's MLP): gelu(input) ⊙ gate. */
export const geluGlu: (input: mx.array, gate: mx.array) => mx.array = mx.compile((input: mx.array, gate: mx.array) =>
  mx.multiply(mx.multiply(mx.multiply(input, 0.5), mx.add(mx.erf(mx.multiply(input, Math.SQRT1_2)), 1)), gate),
);
