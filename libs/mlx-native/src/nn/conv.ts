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
  private readonly unfolds: boolean;
  private readonly stride: number;
  private readonly padding: number;
  private readonly dilation: number;
  private readonly groups: number;
  /** A depthwise kernel's taps [kernel, channels], when the convolution is one (see depthwiseConv). */
  private readonly depthwiseTaps: mx.array | undefined;

  constructor(
    readonly weight: mx.array,
    private readonly bias: mx.array | undefined,
    options: Conv1dOptions = {},
  ) {
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.groups = options.groups ?? 1;
    // The binding's CPU convolution takes a naive path when dilated: 0.3 GFLOP/s against 10-25 undilated
    // (measured, 128 channels, kernel 3-11), which made iSTFTNet's dilated resblocks most of Kokoro's time.
    // Its columns are formed per call, not kept: a second resident copy of every dilated kernel otherwise.
    this.unfolds = this.dilation > 1 && this.stride === 1 && this.groups === 1;
    const [outChannels, kernel, inPerGroup] = weight.shape;
    const depthwise = this.groups === outChannels && inPerGroup === 1 && this.stride === 1 && this.dilation === 1;
    this.depthwiseTaps = depthwise ? weight.reshape(outChannels, kernel).T : undefined;
  }

  forward(x: mx.array): mx.array {
    let y: mx.array;
    if (this.depthwiseTaps) {
      y = depthwiseConv(mx.pad(x, [[0, 0], [this.padding, this.padding], [0, 0]]), this.depthwiseTaps);
    } else if (this.unfolds) {
      y = this.unfolded(x);
    } else {
      y = mx.conv1d(x, this.weight, this.stride, this.padding, this.dilation, this.groups);
    }
    return this.bias ? mx.add(y, this.bias) : y;
  }

  /** The dilated convolution as a height-only 2-D one: time runs down the rows, one column wide. */
  private unfolded(x: mx.array): mx.array {
    const [batch, length, channels] = x.shape;
    const padded = mx.pad(x.reshape(batch, length, 1, channels), [[0, 0], [this.padding, this.padding], [0, 0], [0, 0]]);
    const y = unfoldedConv(padded, kernelColumns(this.weight), [this.weight.shape[1], 1], [this.dilation, 1]);
    return y.reshape(batch, y.shape[1], y.shape[3]);
  }
}

/**
 * A depthwise convolution (one kernel per channel, ConvNeXt's) as `kernel` shifted multiply-adds over the
 * padded input [batch, length + kernel − 1, channels], compiled into one pass. This binding's CPU
 * convolution takes a slow path for it: 68 ms against 6.5 ms for 2×500×512, kernel 7 (measured).
 */
const depthwiseConv = mx.compile((padded: mx.array, taps: mx.array) => {
  const kernel = taps.shape[0];
  const length = padded.shape[1] - kernel + 1;
  let y = mx.multiply(padded.index(mx.Slice(), mx.Slice(0, length)), taps.index(0));
  for (let k = 1; k < kernel; k++) {
    y = mx.add(y, mx.multiply(padded.index(mx.Slice(), mx.Slice(k, k + length)), taps.index(k)));
  }
  return y;
});

export interface ConvTranspose1dOptions {
  stride: number;
  padding?: number;
  outputPadding?: number;
  groups?: number;
}

/**
 * Channels-last transposed convolution with PyTorch's ConvTranspose1d semantics (output length
 * (L − 1)·stride − 2·padding + kernel + outputPadding). This MLX binding has no conv_transpose1d, and
 * the equivalent convolution of the stride-dilated input is 30-100× slower on its CPU backend than a
 * matrix product (measured), so the common cases run as one: each input frame times the kernel gives
 * its `kernel` output frames, overlap-added `stride` apart (groups 1, or depthwise as an elementwise
 * product). Other groupings run the equivalent convolution.
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
    const [outChannels, kernel, inPerGroup] = this.weight.shape;
    const [batch, length, inChannels] = x.shape;
    let contributions: mx.array | undefined;
    if (groups === 1) {
      // w[o, k, i] → [in, kernel·out]: x · W gives every frame's taps at once.
      contributions = mx.matmul(x, this.weight.transpose(2, 1, 0).reshape(inChannels, kernel * outChannels)).reshape(batch, length, kernel, outChannels);
    } else if (groups === inChannels && inPerGroup === 1 && outChannels === inChannels) {
      contributions = mx.multiply(x.reshape(batch, length, 1, inChannels), this.weight.reshape(outChannels, kernel).T);
    }
    let y: mx.array;
    if (contributions === undefined) {
      const edge = this.kernel - 1 - padding;
      y = mx.convGeneral(x, this.weight, 1, [[edge], [edge + outputPadding]], 1, stride, groups, true);
    } else {
      y = overlapAdd(contributions, stride, padding, (length - 1) * stride - 2 * padding + kernel + outputPadding);
    }
    return this.bias ? mx.add(y, this.bias) : y;
  }
}

/**
 * Σ over frames j and taps k of contributions[j, k] placed at output j·stride + k − padding, for
 * contributions [batch, frames, kernel, channels]: taps in groups of `stride`, each group one shifted add.
 */
function overlapAdd(contributions: mx.array, stride: number, padding: number, outLength: number): mx.array {
  const [batch, frames, kernel, channels] = contributions.shape;
  const groups = Math.ceil(kernel / stride);
  const taps = groups * stride === kernel ? contributions : mx.pad(contributions, [[0, 0], [0, 0], [0, groups * stride - kernel], [0, 0]]);
  const span = (frames + groups - 1) * stride;
  let full: mx.array | undefined;
  for (let g = 0; g < groups; g++) {
    const phase = taps.index(mx.Slice(), mx.Slice(), mx.Slice(g * stride, (g + 1) * stride)).reshape(batch, frames * stride, channels);
    const shifted = mx.pad(phase, [[0, 0], [g * stride, span - frames * stride - g * stride], [0, 0]]);
    full = full ? mx.add(full, shifted) : shifted;
  }
  const needed = padding + outLength;
  const extended = needed > span ? mx.pad(full!, [[0, 0], [0, needed - span], [0, 0]]) : full!;
  return extended.index(mx.Slice(), mx.Slice(padding, padding + outLength));
}

/** How a checkpoint stores a 2-D convolution kernel: PyTorch's [out, in, kh, kw] or MLX's [out, kh, kw, in]. */
export type ConvKernelLayout = 'oihw' | 'ohwi';

/**
 * MLX's kernel layout from either: PyTorch checkpoints (diffusers, BFL) are transposed once here, and the
 * result is made contiguous so that each call does not copy the kernel again.
 */
export function mlxConvKernel(kernel: mx.array, layout: ConvKernelLayout): mx.array {
  if (layout === 'ohwi') {
    return kernel;
  }
  const transposed = mx.add(kernel.transpose(0, 2, 3, 1), mx.zeros([], kernel.dtype));
  mx.eval(transposed);
  return transposed;
}

/**
 * A 2-D convolution over channels-last maps [batch, height, width, channels], kernel [out, kh, kw, in],
 * stride 1. On the CPU backend it runs as matrix products over the unfolded input (`unfoldedConv`):
 * this binding's CPU conv2d measured 5-6× slower than that product through BLAS (3×3, 64 channels,
 * 128²). Metal keeps MLX's kernel.
 */
export class Conv2d {
  private readonly columns: mx.array | undefined;

  constructor(
    private readonly kernel: mx.array,
    private readonly bias: mx.array | undefined,
    private readonly padding: number,
  ) {
    this.columns = mx.metal.isAvailable() ? undefined : kernelColumns(kernel);
  }

  forward(x: mx.array): mx.array {
    const p = this.padding;
    const y = this.columns
      ? unfoldedConv(p > 0 ? mx.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x, this.columns, [this.kernel.shape[1], this.kernel.shape[2]], [1, 1])
      : mx.conv2d(x, this.kernel, 1, p);
    return this.bias ? mx.add(y, this.bias) : y;
  }
}

/** Nearest-neighbour 2× upsampling of channels-last maps: each pixel becomes a 2×2 block. */
export function upsampleNearest2x(x: mx.array): mx.array {
  const [batch, height, width, channels] = x.shape;
  const expanded = mx.broadcastTo(x.reshape(batch, height, 1, width, 1, channels), [batch, height, 2, width, 2, channels]);
  return expanded.reshape(batch, height * 2, width * 2, channels);
}

/** A kernel [out, …taps, in] as the matrix [taps·in, out] its unfolded input multiplies, rows tap by tap. */
function kernelColumns(kernel: mx.array): mx.array {
  const out = kernel.shape[0];
  return kernel.reshape(out, -1).T;
}

/** Floats of unfolded input per block: bounds an unfolded convolution's extra memory to ~64 MB. */
const UNFOLD_BLOCK_FLOATS = 16 * 2 ** 20;
/** Fewest output positions per block, so that a wide input does not become many small products. */
const MIN_BLOCK_POSITIONS = 256;

/**
 * A stride-1 convolution of channels-last `padded` [batch, height, width, in] (padding already applied)
 * as matrix products over the unfolded input (im2col): each output position's kh·kw taps, `dilation`
 * apart, side by side times `columns` [kh·kw·in, out] (kernelColumns), block by block of output rows so
 * the unfolded copy (kh·kw times the input) stays near UNFOLD_BLOCK_FLOATS. The fast CPU path of this
 * binding, whose own conv2d and dilated conv1d are several to a hundred times slower than the product.
 */
function unfoldedConv(padded: mx.array, columns: mx.array, [kh, kw]: [number, number], [dh, dw]: [number, number]): mx.array {
  const [batch, height, width, inChannels] = padded.shape;
  const outHeight = height - (kh - 1) * dh;
  const outWidth = width - (kw - 1) * dw;
  const out = columns.shape[1];
  const rows = Math.max(Math.ceil(MIN_BLOCK_POSITIONS / outWidth), Math.floor(UNFOLD_BLOCK_FLOATS / (batch * outWidth * kh * kw * inChannels)));
  const pieces: mx.array[] = [];
  for (let start = 0; start < outHeight; start += rows) {
    const end = Math.min(outHeight, start + rows);
    const taps: mx.array[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        taps.push(padded.index(mx.Slice(), mx.Slice(start + i * dh, end + i * dh), mx.Slice(j * dw, j * dw + outWidth), mx.Slice()));
      }
    }
    const patches = taps.length === 1 ? taps[0] : mx.concatenate(taps, -1);
    pieces.push(mx.matmul(patches.reshape(batch * (end - start) * outWidth, kh * kw * inChannels), columns).reshape(batch, end - start, outWidth, out));
  }
  return pieces.length === 1 ? pieces[0] : mx.concatenate(pieces, 1);
}
