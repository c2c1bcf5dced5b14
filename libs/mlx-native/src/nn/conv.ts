import { core as mx } from '@frost-beta/mlx';

/**
 * 1-D convolution over [batch, length, channels] (MLX's channels-last layout), weight
 * [outChannels, kernel, inChannels] as MLX checkpoints store it (PyTorch's [out, in, kernel] swapped).
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
