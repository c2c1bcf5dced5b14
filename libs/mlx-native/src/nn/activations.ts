import { core as mx } from '@frost-beta/mlx';
import { InvalidModelConfigError } from '../io/errors';

/**
 * Pointwise activations, compiled so that each runs as one pass and leaves one array behind
 * (uncompiled, every intermediate stays allocated until its JS wrapper is collected). A compiled
 * activation called inside another compiled function is traced into it (the GLU forms below).
 */
export type Activation = (x: mx.array) => mx.array;

/** SiLU (swish): x · σ(x). */
export const silu: Activation = mx.compile((x: mx.array) => mx.multiply(x, mx.sigmoid(x)));

/** GELU with the exact erf: ½x(1 + erf(x/√2)) (BERT, Whisper, CLIP-L's `gelu`). */
export const gelu: Activation = mx.compile((x: mx.array) => mx.multiply(mx.multiply(x, 0.5), mx.add(mx.erf(mx.multiply(x, Math.SQRT1_2)), 1)));

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU's tanh approximation (PyTorch `approximate="tanh"`, Hugging Face's `gelu_new`, T5's and FLUX's feed-forwards, PL-BERT). */
export const geluTanh: Activation = mx.compile((x: mx.array) => {
  const inner = mx.multiply(mx.add(x, mx.multiply(mx.power(x, 3), 0.044715)), SQRT_2_OVER_PI);
  return mx.multiply(mx.multiply(x, 0.5), mx.add(mx.tanh(inner), 1));
});

/** OpenAI CLIP's quick GELU: x · σ(1.702x). */
export const quickGelu: Activation = mx.compile((x: mx.array) => mx.multiply(x, mx.sigmoid(mx.multiply(x, 1.702))));

/** GeGLU with exact GELU (ModernBERT's MLP): gelu(input) ⊙ gate. */
export const geluGlu: (input: mx.array, gate: mx.array) => mx.array = mx.compile((input: mx.array, gate: mx.array) => mx.multiply(gelu(input), gate));

/** softplus: ln(1 + eˣ), as logaddexp(x, 0) so large x neither overflows nor loses precision. */
export const softplus: Activation = mx.compile((x: mx.array) => mx.logaddexp(x, 0));

/** Mish (Misra 2019): x · tanh(softplus(x)). */
export const mish: Activation = mx.compile((x: mx.array) => mx.multiply(x, mx.tanh(softplus(x))));

/** max(x, 0) + slope · min(x, 0). */
export function leakyRelu(x: mx.array, slope: number): mx.array {
  return mx.maximum(x, mx.multiply(x, slope));
}

/** Snake (Ziyin et al. 2020): x + sin²(αx)/α, with a learnt α per channel (broadcast against x). */
export const snake = mx.compile((x: mx.array, alpha: mx.array) =>
  mx.add(x, mx.divide(mx.square(mx.sin(mx.multiply(alpha, x))), alpha)),
);

/** The activation a Hugging Face config names in `hidden_act` / `dense_act_fn` / `feed_forward_proj`. */
export function activationByName(name: string): Activation | undefined {
  switch (name) {
    case 'gelu':
      return gelu;
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
    case 'gelu-approximate':
      return geluTanh;
    case 'quick_gelu':
      return quickGelu;
    case 'silu':
    case 'swish':
      return silu;
    case 'relu':
      return (x) => mx.maximum(x, 0);
    default:
      return undefined;
  }
}

/** activationByName, or an InvalidModelConfigError naming the config (`source`) that asked for an unknown one. */
export function requireActivation(name: string, source: string): Activation {
  const activation = activationByName(name);
  if (activation === undefined) {
    throw new InvalidModelConfigError(source, `activation "${name}" is not supported`);
  }
  return activation;
}
