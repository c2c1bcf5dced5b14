import { core as mx } from '@frost-beta/mlx';

/**
 * PyTorch's weight normalisation folded into one weight: w = g · v / ‖v‖, the norm taken over every
 * axis but the first (`weight_norm(dim=0)`: per output channel of a convolution, per input channel of a
 * transposed one). Folding once at load leaves a plain convolution to run.
 */
export function foldWeightNorm(g: mx.array, v: mx.array): mx.array {
  // Reduced as [first, rest]: this binding's CPU reduction over several axes of a transposed view with
  // a size-1 axis corrupts the heap (measured), and a 2-D reduction is as exact.
  const rows = v.shape[0];
  const norm = mx.sqrt(mx.sum(mx.square(v.reshape(rows, -1)), 1, true)).reshape([rows, ...Array<number>(v.ndim - 1).fill(1)]);
  return mx.multiply(v, mx.divide(g, norm));
}

/** PyTorch's Conv1d weight [out, in/groups, kernel] in MLX's layout [out, kernel, in/groups]. */
export function conv1dWeightFromTorch(weight: mx.array): mx.array {
  return weight.transpose(0, 2, 1);
}

/**
 * PyTorch's ConvTranspose1d weight [in, out/groups, kernel] as the kernel of the equivalent
 * convolution in MLX's layout [out, kernel, in/groups] (see ConvTranspose1d: the kernel is flipped
 * when applied, so the taps stay in PyTorch's order here).
 */
export function convTranspose1dWeightFromTorch(weight: mx.array, groups: number): mx.array {
  const [inChannels, outPerGroup, kernel] = weight.shape;
  const inPerGroup = inChannels / groups;
  return weight
    .reshape(groups, inPerGroup, outPerGroup, kernel)
    .transpose(0, 2, 3, 1)
    .reshape(groups * outPerGroup, kernel, inPerGroup);
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
}

/** Channels-last 1-D convolution: x [batch, length, in] → [batch, length', out]; weight [out, kernel, in/groups]. */
export class Conv1d {
  private readonly stride: number;
  private readonly padding: number;
  private readonly dilation: number;
  private readonly groups: number;

  constructor(
    readonly weight: mx.array,
    private readonly bias: mx.array | undefined,
    options: Conv1dOptions = {},
  ) {
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.groups = options.groups ?? 1;
  }

  forward(x: mx.array): mx.array {
    const y = mx.conv1d(x, this.weight, this.stride, this.padding, this.dilation, this.groups);
    return this.bias ? mx.add(y, this.bias) : y;
  }
}

export interface ConvTranspose1dOptions {
  stride: number;
  padding?: number;
  outputPadding?: number;
  groups?: number;
}

/**
 * Channels-last transposed convolution with PyTorch's ConvTranspose1d semantics (output length
 * (L − 1)·stride − 2·padding + kernel + outputPadding). This MLX binding has no conv_transpose1d, so it
 * runs as the convolution it is equivalent to: the input dilated by the stride, padded by
 * kernel − 1 − padding on both sides (plus outputPadding on the right), with the kernel flipped.
 */
export class ConvTranspose1d {
  private readonly kernel: number;

  constructor(
    readonly weight: mx.array,
    private readonly bias: mx.array | undefined,
    private readonly options: ConvTranspose1dOptions,
  ) {
    this.kernel = weight.shape[1];
  }

  forward(x: mx.array): mx.array {
    const { stride, padding = 0, outputPadding = 0, groups = 1 } = this.options;
    const edge = this.kernel - 1 - padding;
    const y = mx.convGeneral(x, this.weight, 1, [[edge], [edge + outputPadding]], 1, stride, groups, true);
    return this.bias ? mx.add(y, this.bias) : y;
  }
}
