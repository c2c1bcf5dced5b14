import { core as mx } from '@frost-beta/mlx';

/**
 * GELU as BERT and Whisper define it, with the exact Gaussian CDF: x · ½(1 + erf(x/√2)). Compiled,
 * so its elementwise ops run as one pass and leave one array behind (see `Gating` in layers.ts).
 */
export const gelu: (x: mx.array) => mx.array = mx.compile((x: mx.array) => mx.multiply(mx.multiply(x, 0.5), mx.add(mx.erf(mx.multiply(x, Math.SQRT1_2)), 1)));

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU with the tanh approximation (Hugging Face's `gelu_new`, `gelu_pytorch_tanh`). */
export const geluTanh: (x: mx.array) => mx.array = mx.compile((x: mx.array) =>
  mx.multiply(mx.multiply(x, 0.5), mx.add(mx.tanh(mx.multiply(mx.add(x, mx.multiply(mx.power(x, 3), 0.044715)), SQRT_2_OVER_PI)), 1)),
);

/** Hugging Face activation names of the GELU family, to the function. */
export function geluByName(name: string): ((x: mx.array) => mx.array) | undefined {
  switch (name) {
    case 'gelu':
      return gelu;
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return geluTanh;
    default:
      return undefined;
  }
}

/** SiLU (swish): x · σ(x). */
export const silu: (x: mx.array) => mx.array = mx.compile((x: mx.array) => mx.multiply(x, mx.sigmoid(x)));

/** softplus: ln(1 + eˣ), as logaddexp(x, 0) so large x neither overflows nor loses precision. */
export const softplus: (x: mx.array) => mx.array = mx.compile((x: mx.array) => mx.logaddexp(x, 0));

/** Mish (Misra 2019): x · tanh(softplus(x)). */
export const mish: (x: mx.array) => mx.array = mx.compile((x: mx.array) => mx.multiply(x, mx.tanh(mx.logaddexp(x, 0))));

/** max(x, 0) + slope · min(x, 0). */
export function leakyRelu(x: mx.array, slope: number): mx.array {
  return mx.maximum(x, mx.multiply(x, slope));
}

/** Snake (Ziyin et al. 2020): x + sin²(αx)/α, with a learnt α per channel (broadcast against x). */
export const snake = mx.compile((x: mx.array, alpha: mx.array) =>
  mx.add(x, mx.divide(mx.square(mx.sin(mx.multiply(alpha, x))), alpha)),
);

/** GeGLU with exact GELU (ModernBERT's MLP): gelu(input) ⊙ gate, compiled likewise. */
export const geluGlu: (input: mx.array, gate: mx.array) => mx.array = mx.compile((input: mx.array, gate: mx.array) =>
  mx.multiply(mx.multiply(mx.multiply(input, 0.5), mx.add(mx.erf(mx.multiply(input, Math.SQRT1_2)), 1)), gate),
);
