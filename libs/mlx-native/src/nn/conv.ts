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

/** A 2-D convolution over channels-last maps [batch, height, width, channels], kernel [out, kh, kw, in]. */
export class Conv2d {
  constructor(
    private readonly kernel: mx.array,
    private readonly bias: mx.array | undefined,
    private readonly padding: number,
    private readonly stride = 1,
  ) {}

  forward(x: mx.array): mx.array {
    const y = mx.conv2d(x, this.kernel, this.stride, this.padding);
    return this.bias ? mx.add(y, this.bias) : y;
  }
}

/** Nearest-neighbour 2× upsampling of channels-last maps: each pixel becomes a 2×2 block. */
export function upsampleNearest2x(x: mx.array): mx.array {
  const [batch, height, width, channels] = x.shape;
  const expanded = mx.broadcastTo(x.reshape(batch, height, 1, width, 1, channels), [batch, height, 2, width, 2, channels]);
  return expanded.reshape(batch, height * 2, width * 2, channels);
}
