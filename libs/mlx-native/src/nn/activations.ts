import { core as mx } from '@frost-beta/mlx';

/**
 * GELU as BERT and Whisper define it, with the exact Gaussian CDF: x · ½(1 + erf(x/√2)). Compiled,
 * so its elementwise ops run as one pass and leave one array behind (see `Gating` in layers.ts).
 */
export const gelu: (x: mx.array) => mx.array = mx.compile((x: mx.array) => mx.multiply(mx.multiply(x, 0.5), mx.add(mx.erf(mx.multiply(x, Math.SQRT1_2)), 1)));
