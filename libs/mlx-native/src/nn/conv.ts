import { core as mx } from '@frost-beta/mlx';

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
 * stride 1. On the CPU backend it runs as one matmul over the kh·kw shifted copies of the input
 * (im2col): this binding's CPU conv2d measured 5-6× slower than that matmul through BLAS (3×3, 64
 * channels, 128²), at the cost of kh·kw times the input's memory while it runs. Metal keeps MLX's kernel.
 */
export class Conv2d {
  private readonly columns: mx.array | undefined;

  constructor(
    private readonly kernel: mx.array,
    private readonly bias: mx.array | undefined,
    private readonly padding: number,
  ) {
    const [out, kh, kw, inChannels] = kernel.shape;
    this.columns = mx.metal.isAvailable() ? undefined : kernel.reshape(out, kh * kw * inChannels).T;
  }

  forward(x: mx.array): mx.array {
    const y = this.columns ? this.im2col(x, this.columns) : mx.conv2d(x, this.kernel, 1, this.padding);
    return this.bias ? mx.add(y, this.bias) : y;
  }

  private im2col(x: mx.array, columns: mx.array): mx.array {
    const [batch, height, width, channels] = x.shape;
    const [out, kh, kw] = this.kernel.shape;
    const p = this.padding;
    const padded = p > 0 ? mx.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
    const outHeight = height + 2 * p - kh + 1;
    const outWidth = width + 2 * p - kw + 1;
    const shifted: mx.array[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        shifted.push(padded.index(mx.Slice(), mx.Slice(i, i + outHeight), mx.Slice(j, j + outWidth), mx.Slice()));
      }
    }
    const patches = shifted.length === 1 ? shifted[0] : mx.concatenate(shifted, -1);
    return mx.matmul(patches.reshape(batch * outHeight * outWidth, kh * kw * channels), columns).reshape(batch, outHeight, outWidth, out);
  }
}

/** Nearest-neighbour 2× upsampling of channels-last maps: each pixel becomes a 2×2 block. */
export function upsampleNearest2x(x: mx.array): mx.array {
  const [batch, height, width, channels] = x.shape;
  const expanded = mx.broadcastTo(x.reshape(batch, height, 1, width, 1, channels), [batch, height, 2, width, 2, channels]);
  return expanded.reshape(batch, height * 2, width * 2, channels);
}

/**
 * 1-D convolution over [batch, length, channels] (MLX's channels-last layout), weight
 * [outChannels, kernel, inChannels] as MLX checkpoints store it (PyTorch's [out, in, kernel] swapped).
 * Unlike Conv2d it keeps MLX's kernel on every backend: the binding's CPU conv1d measured as fast as
 * the im2col matmul for Whisper's front end (kernel 3, 80 to 1280 channels, 3000 frames).
 */
export class Conv1d {
  constructor(
    private readonly weight: mx.array,
    private readonly bias: mx.array | undefined,
    private readonly options: { stride?: number; padding?: number } = {},
  ) {}

  forward(x: mx.array): mx.array {
    const y = mx.conv1d(x, this.weight, this.options.stride ?? 1, this.options.padding ?? 0, 1, 1);
    return this.bias ? mx.add(y, this.bias) : y;
  }
}
