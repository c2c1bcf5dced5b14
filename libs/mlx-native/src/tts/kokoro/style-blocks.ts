import { core as mx } from '@frost-beta/mlx';
import { leakyRelu, snake } from '../../nn/activations';
import type { Conv1d, ConvTranspose1d } from '../../nn/conv';
import { AdaIN1d } from '../../nn/norms';
import type { PacedWork } from '../../runtime/paced-work';
import type { KokoroWeights } from './weights';

/** StyleTTS 2's AdaIN1d at `${module}`: its style projection and, when the export has them, the InstanceNorm's affine. */
export function adaIn(weights: KokoroWeights, module: string, styleDim: number, channels: number): AdaIN1d {
  const fc = weights.linear(`${module}.fc`, styleDim, 2 * channels);
  const affine = weights.has(`${module}.norm.weight`)
    ? { weight: weights.tensor(`${module}.norm.weight`, [channels]), bias: weights.tensor(`${module}.norm.bias`, [channels]) }
    : undefined;
  return new AdaIN1d(fc, channels, affine);
}

/**
 * StyleTTS 2's AdainResBlk1d on channels-last x [1, length, in]: a residual branch (AdaIN, LeakyReLU 0.2,
 * optional 2× transposed-convolution upsampling, conv 3; AdaIN, LeakyReLU, conv 3) plus a shortcut
 * (nearest 2× upsampling, a 1×1 conv when the width changes), summed and scaled by 1/√2.
 */
export class AdainResBlock {
  private readonly norm1: AdaIN1d;
  private readonly norm2: AdaIN1d;
  private readonly conv1: Conv1d;
  private readonly conv2: Conv1d;
  private readonly shortcut?: Conv1d;
  private readonly pool?: ConvTranspose1d;

  constructor(weights: KokoroWeights, module: string, styleDim: number, dimIn: number, dimOut: number, readonly upsample: boolean) {
    this.norm1 = adaIn(weights, `${module}.norm1`, styleDim, dimIn);
    this.norm2 = adaIn(weights, `${module}.norm2`, styleDim, dimOut);
    this.conv1 = weights.conv(`${module}.conv1`, { inChannels: dimIn, outChannels: dimOut, kernel: 3, padding: 1, weightNorm: true });
    this.conv2 = weights.conv(`${module}.conv2`, { inChannels: dimOut, outChannels: dimOut, kernel: 3, padding: 1, weightNorm: true });
    if (dimIn !== dimOut) {
      this.shortcut = weights.conv(`${module}.conv1x1`, { inChannels: dimIn, outChannels: dimOut, kernel: 1, weightNorm: true, bias: false });
    }
    if (upsample) {
      this.pool = weights.convTranspose(`${module}.pool`, {
        inChannels: dimIn,
        outChannels: dimIn,
        kernel: 3,
        stride: 2,
        groups: dimIn,
        padding: 1,
        outputPadding: 1,
      });
    }
  }

  forward(x: mx.array, style: mx.array): mx.array {
    let residual = leakyRelu(this.norm1.forward(x, style), 0.2);
    if (this.pool) {
      residual = this.pool.forward(residual);
    }
    residual = this.conv2.forward(leakyRelu(this.norm2.forward(this.conv1.forward(residual), style), 0.2));
    let shortcut = this.upsample ? mx.repeat(x, 2, 1) : x;
    if (this.shortcut) {
      shortcut = this.shortcut.forward(shortcut);
    }
    return mx.multiply(mx.add(residual, shortcut), Math.SQRT1_2);
  }
}

/**
 * iSTFTNet's AdaINResBlock1 on x [1, length, channels]: three residual units, each AdaIN → Snake →
 * dilated conv → AdaIN → Snake → conv, with a learnt Snake α per channel.
 */
export class AdaInResBlock1 {
  private readonly units: Array<{ norm1: AdaIN1d; alpha1: mx.array; conv1: Conv1d; norm2: AdaIN1d; alpha2: mx.array; conv2: Conv1d }>;

  constructor(weights: KokoroWeights, module: string, styleDim: number, channels: number, kernel: number, dilations: readonly number[]) {
    const alpha = (name: string) => weights.tensor(name, [1, channels, 1]).reshape(1, 1, channels);
    this.units = dilations.map((dilation, j) => ({
      norm1: adaIn(weights, `${module}.adain1.${j}`, styleDim, channels),
      alpha1: alpha(`${module}.alpha1.${j}`),
      conv1: weights.conv(`${module}.convs1.${j}`, {
        inChannels: channels,
        outChannels: channels,
        kernel,
        dilation,
        padding: Math.floor(((kernel - 1) * dilation) / 2),
        weightNorm: true,
      }),
      norm2: adaIn(weights, `${module}.adain2.${j}`, styleDim, channels),
      alpha2: alpha(`${module}.alpha2.${j}`),
      conv2: weights.conv(`${module}.convs2.${j}`, { inChannels: channels, outChannels: channels, kernel, padding: Math.floor((kernel - 1) / 2), weightNorm: true }),
    }));
  }

  /**
   * Each residual unit is its own unit of paced work: at the generator's sample-rate lengths one unit's
   * intermediates are hundreds of MB, and they are freed only between units.
   */
  async forward(x: mx.array, style: mx.array, work: PacedWork): Promise<mx.array> {
    for (const u of this.units) {
      const input = x;
      x = await work.run(() => {
        const inner = u.conv1.forward(snake(u.norm1.forward(input, style), u.alpha1) as mx.array);
        return mx.add(u.conv2.forward(snake(u.norm2.forward(inner, style), u.alpha2) as mx.array), input);
      }, { collect: true });
    }
    return x;
  }
}
