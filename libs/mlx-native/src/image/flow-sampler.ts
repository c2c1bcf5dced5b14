import { core as mx } from '@frost-beta/mlx';

/** How a flow-matching schedule's noise levels move with image size (diffusers' FlowMatchEulerDiscreteScheduler settings). */
export interface FlowShift {
  /** Shift by a μ that grows linearly with the number of latent patches (FLUX.1-dev), else by `shift`. */
  dynamicShift: boolean;
  shift: number;
  baseShift: number;
  maxShift: number;
  baseSeqLen: number;
  maxSeqLen: number;
}

/** μ for `patches` latent patches: linear from baseShift at baseSeqLen to maxShift at maxSeqLen (diffusers' calculate_shift). */
export function flowShiftMu(patches: number, s: FlowShift): number {
  const slope = (s.maxShift - s.baseShift) / (s.maxSeqLen - s.baseSeqLen);
  return patches * slope + (s.baseShift - slope * s.baseSeqLen);
}

/**
 * The noise levels of an Euler flow-matching run: σ_i = linspace(1, 1/steps, steps), shifted toward noise
 * for large images (exponential time shift e^μ / (e^μ + 1/σ − 1)) or by a static factor, then a final 0.
 * Step i moves from σ_i to σ_{i+1}.
 */
export function flowSigmas(steps: number, patches: number, s: FlowShift): number[] {
  const sigmas = Array.from({ length: steps }, (_, i) => (steps === 1 ? 1 : 1 + (i * (1 / steps - 1)) / (steps - 1)));
  let shifted: number[];
  if (s.dynamicShift) {
    const growth = Math.exp(flowShiftMu(patches, s));
    shifted = sigmas.map((sigma) => growth / (growth + (1 / sigma - 1)));
  } else {
    shifted = sigmas.map((sigma) => (s.shift * sigma) / (1 + (s.shift - 1) * sigma));
  }
  return [...shifted, 0];
}

/** One Euler step of the flow ODE: x + (σ_next − σ) · v. */
export function eulerStep(latents: mx.array, velocity: mx.array, sigma: number, sigmaNext: number): mx.array {
  return mx.add(latents, mx.multiply(velocity.astype(latents.dtype), sigmaNext - sigma));
}
