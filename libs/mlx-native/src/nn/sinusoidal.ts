import { core as mx } from '@frost-beta/mlx';

export interface SinusoidalOptions {
  /** Which half of the features the sines fill. */
  order: 'sin-cos' | 'cos-sin';
  /** Positions are multiplied by this first (timesteps in [0, 1] are scaled by 1000). */
  scale?: number;
  /**
   * Frequency i of the dim/2 is maxPeriod^(−i / (dim/2 − shift)): 0 gives the Transformer's table,
   * 1 the timestep embedding of diffusers with `downscale_freq_shift=1` (F5-TTS's SinusPositionEmbedding).
   */
  frequencyShift?: number;
  maxPeriod?: number;
}

/** Sinusoidal features [count, dim] of `positions` [count] (timesteps or sequence positions), float32. */
export function sinusoidalEmbedding(positions: mx.array, dim: number, options: SinusoidalOptions): mx.array {
  const { scale = 1, frequencyShift = 0, maxPeriod = 10000 } = options;
  const half = dim / 2;
  const exponents = mx.multiply(mx.arange(0, half, 1, mx.float32), -Math.log(maxPeriod) / (half - frequencyShift));
  const angles = mx.outer(mx.multiply(positions.astype(mx.float32), scale), mx.exp(exponents));
  const [first, second] = options.order === 'sin-cos' ? [mx.sin(angles), mx.cos(angles)] : [mx.cos(angles), mx.sin(angles)];
  return mx.concatenate([first, second], -1);
}
