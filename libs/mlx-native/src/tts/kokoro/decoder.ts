import { core as mx } from '@frost-beta/mlx';
import { Stft } from '../../audio/stft';
import { ModelLoadError } from '../../io/errors';
import { leakyRelu } from '../../nn/activations';
import type { Conv1d, ConvTranspose1d } from '../../nn/conv';
import type { Linear } from '../../nn/layers';
import type { PacedWork } from '../../runtime/paced-work';
import type { KokoroConfig } from './config';
import { AdaInResBlock1, AdainResBlock } from './style-blocks';
import type { KokoroWeights } from './weights';

/**
 * The random draws of iSTFTNet's harmonic source (SineGen), injectable so a request's seed, or a test's
 * own draws, decide them.
 */
export interface SourceNoise {
  /** Initial phase offsets of the harmonics, uniform on [0, 1): [harmonics] (the fundamental's is then zeroed). */
  initialPhases(harmonics: number): mx.array;
  /** Standard normal draws [samples, harmonics]. */
  gaussian(samples: number, harmonics: number): mx.array;
}

/** SourceNoise from MLX's counter-based generator: the same key gives the same draws on every backend. */
export function seededSourceNoise(key: mx.array): SourceNoise {
  const [phaseKey, gaussianKey] = mx.random.split(key, 2);
  return {
    initialPhases: (harmonics) => mx.random.uniform(0, 1, [harmonics], mx.float32, phaseKey),
    gaussian: (samples, harmonics) => mx.random.normal([samples, harmonics], mx.float32, 0, 1, gaussianKey),
  };
}

// SineGen's constants, fixed in hexgrad's Generator (SourceModuleHnNSF(harmonic_num=8, voiced_threshod=10)).
const SINE_AMPLITUDE = 0.1;
const VOICED_NOISE_STD = 0.003;
const VOICED_THRESHOLD_HZ = 10;
/** Dilations of every AdaINResBlock1 of the noise branch, fixed in hexgrad's Generator. */
const NOISE_RES_DILATIONS = [1, 3, 5];

/**
 * Weights of PyTorch's linear interpolation (align_corners=False) that upsamples a sequence by an
 * integer `scale`: output r of each block mixes the previous, current and next input samples.
 */
function upsampleWeights(scale: number): [number[], number[], number[]] {
  const previous: number[] = [];
  const current: number[] = [];
  const next: number[] = [];
  for (let r = 0; r < scale; r++) {
    const offset = (r + 0.5) / scale - 0.5;
    previous.push(offset < 0 ? -offset : 0);
    current.push(offset < 0 ? 1 + offset : 1 - offset);
    next.push(offset < 0 ? 0 : offset);
  }
  return [previous, current, next];
}

/** iSTFTNet's harmonic-plus-noise source (SourceModuleHnNSF with SineGen) at the sample rate. */
class HarmonicSource {
  private readonly harmonics: number;
  private readonly upsample: [mx.array, mx.array, mx.array];
  /** Weight of sample 0 in the downsampled first frame (where SineGen adds the initial phases). */
  private readonly firstSampleWeight: number;

  constructor(
    private readonly merge: Linear,
    harmonics: number,
    private readonly scale: number,
    private readonly sampleRate: number,
  ) {
    this.harmonics = harmonics;
    this.upsample = upsampleWeights(scale).map((w) => mx.array(w, mx.float32).reshape(1, scale, 1)) as [mx.array, mx.array, mx.array];
    // Downsampling by `scale` reads position (d + ½)·scale − ½ between two samples; only frame 0 can touch sample 0.
    const source = (scale - 1) / 2;
    const low = Math.floor(source);
    const fraction = source - low;
    this.firstSampleWeight = low === 0 ? 1 - fraction : 0;
  }

  /**
   * f0 [frames] (Hz, at the decoder's frame rate) → excitation [frames·scale]. As SineGen: per-sample phase
   * increments f·h/sr mod 1 of harmonics h = 1…H, integrated at the frame rate (linear down-, then
   * up-sampling), voiced where f0 > 10 Hz, Gaussian noise added, merged by a linear layer and tanh.
   */
  forward(f0: mx.array, noise: SourceNoise): mx.array {
    const frames = f0.shape[0];
    const samples = frames * this.scale;
    const multiples = mx.arange(1, this.harmonics + 1, 1, mx.float32).reshape(1, this.harmonics);
    let increments = mx.remainder(mx.divide(mx.multiply(f0.reshape(frames, 1), multiples), this.sampleRate), 1);
    const offsets = mx.multiply(noise.initialPhases(this.harmonics), mx.array([0, ...Array(this.harmonics - 1).fill(1)], mx.float32));
    if (this.firstSampleWeight !== 0) {
      const firstFrame = mx.array([1, ...Array(frames - 1).fill(0)], mx.float32).reshape(frames, 1);
      increments = mx.add(increments, mx.multiply(firstFrame, mx.multiply(offsets, this.firstSampleWeight)));
    }
    const phase = mx.multiply(mx.cumsum(increments, 0), 2 * Math.PI);
    const first = phase.index(mx.Slice(0, 1));
    const last = phase.index(mx.Slice(frames - 1, frames));
    const previous = mx.concatenate([first, phase.index(mx.Slice(0, frames - 1))]);
    const next = mx.concatenate([phase.index(mx.Slice(1, frames)), last]);
    const [wPrevious, wCurrent, wNext] = this.upsample;
    const block = (x: mx.array, w: mx.array) => mx.multiply(x.reshape(frames, 1, this.harmonics), w);
    const upsampled = mx.multiply(
      mx.add(mx.add(block(previous, wPrevious), block(phase, wCurrent)), block(next, wNext)).reshape(samples, this.harmonics),
      this.scale,
    );
    const voiced = mx.repeat(mx.greater(f0, VOICED_THRESHOLD_HZ).astype(mx.float32), this.scale, 0).reshape(samples, 1);
    const noiseAmplitude = mx.add(mx.multiply(voiced, VOICED_NOISE_STD), mx.multiply(mx.subtract(1, voiced), SINE_AMPLITUDE / 3));
    const sines = mx.add(
      mx.multiply(mx.multiply(mx.sin(upsampled), SINE_AMPLITUDE), voiced),
      mx.multiply(noiseAmplitude, noise.gaussian(samples, this.harmonics)),
    );
    return mx.tanh(this.merge.forward(sines)).reshape([samples]);
  }
}

/** iSTFTNet's generator: upsampling stages fed by the STFT of the harmonic source, ending in magnitude and phase for an inverse STFT. */
class Generator {
  private readonly source: HarmonicSource;
  private readonly stft: Stft;
  private readonly ups: ConvTranspose1d[];
  private readonly noiseConvs: Conv1d[];
  private readonly noiseRes: AdaInResBlock1[];
  private readonly resblocks: AdaInResBlock1[][];
  private readonly post: Conv1d;

  constructor(weights: KokoroWeights, config: KokoroConfig) {
    const { istftnet: net, styleDim: style } = config;
    const prefix = 'decoder.generator';
    const scale = net.upsampleRates.reduce((a, b) => a * b, 1) * net.hop;
    const harmonics = weights.storedShape(`${prefix}.m_source.l_linear.weight`)[1];
    this.source = new HarmonicSource(weights.linear(`${prefix}.m_source.l_linear`, harmonics, 1), harmonics, scale, config.sampleRate);
    this.stft = new Stft(net.fftSize, net.hop);
    const sourceChannels = net.fftSize + 2;
    this.ups = [];
    this.noiseConvs = [];
    this.noiseRes = [];
    this.resblocks = [];
    net.upsampleRates.forEach((rate, i) => {
      const kernel = net.upsampleKernelSizes[i];
      const channels = net.upsampleInitialChannel / 2 ** (i + 1);
      if (!Number.isInteger(channels)) {
        throw new ModelLoadError(`istftnet.upsample_initial_channel (${net.upsampleInitialChannel}) must halve ${net.upsampleRates.length} times`);
      }
      this.ups.push(
        weights.convTranspose(`${prefix}.ups.${i}`, {
          inChannels: 2 * channels,
          outChannels: channels,
          kernel,
          stride: rate,
          padding: Math.floor((kernel - rate) / 2),
        }),
      );
      this.resblocks.push(
        net.resblockKernelSizes.map(
          (k, j) =>
            new AdaInResBlock1(weights, `${prefix}.resblocks.${i * net.resblockKernelSizes.length + j}`, style, channels, k, net.resblockDilationSizes[j]),
        ),
      );
      const isLast = i + 1 === net.upsampleRates.length;
      const strideF0 = net.upsampleRates.slice(i + 1).reduce((a, b) => a * b, 1);
      this.noiseConvs.push(
        weights.conv(
          `${prefix}.noise_convs.${i}`,
          isLast
            ? { inChannels: sourceChannels, outChannels: channels, kernel: 1 }
            : { inChannels: sourceChannels, outChannels: channels, kernel: 2 * strideF0, stride: strideF0, padding: Math.floor((strideF0 + 1) / 2) },
        ),
      );
      const noiseKernel = weights.naming === 'pytorch'
        ? weights.storedShape(`${prefix}.noise_res.${i}.convs1.0.weight_v`)[2]
        : weights.storedShape(`${prefix}.noise_res.${i}.convs1.0.weight_v`)[1];
      this.noiseRes.push(new AdaInResBlock1(weights, `${prefix}.noise_res.${i}`, style, channels, noiseKernel, NOISE_RES_DILATIONS));
    });
    const lastChannels = net.upsampleInitialChannel / 2 ** net.upsampleRates.length;
    this.post = weights.conv(`${prefix}.conv_post`, { inChannels: lastChannels, outChannels: sourceChannels, kernel: 7, padding: 3, weightNorm: true });
  }

  /** x [1, frames, channels], f0 [frames] → waveform [frames · scale]. */
  async forward(x: mx.array, style: mx.array, f0: mx.array, noise: SourceNoise, work: PacedWork): Promise<mx.array> {
    const harmonic = await work.run(() => {
      const { magnitude, phase } = this.stft.magnitudePhase(this.source.forward(f0, noise));
      return mx.concatenate([magnitude, phase], -1).reshape(1, magnitude.shape[0], -1);
    });
    for (let i = 0; i < this.ups.length; i++) {
      const input = x;
      const convolved = await work.run(() => this.noiseConvs[i].forward(harmonic));
      const sourced = await this.noiseRes[i].forward(convolved, style, work);
      x = await work.run(() => {
        let up = this.ups[i].forward(leakyRelu(input, 0.1));
        if (i === this.ups.length - 1) {
          // ReflectionPad1d((1, 0)): one frame in front, mirroring frame 1.
          up = mx.concatenate([up.index(mx.Slice(), mx.Slice(1, 2)), up], 1);
        }
        return mx.add(up, sourced);
      });
      const stage = x;
      let sum: mx.array | undefined;
      for (const block of this.resblocks[i]) {
        const out = await block.forward(stage, style, work);
        const before = sum;
        sum = before ? await work.run(() => mx.add(before, out)) : out;
      }
      const total = sum!;
      x = await work.run(() => mx.divide(total, this.resblocks[i].length));
    }
    const last = x;
    return work.run(() => {
      const out = this.post.forward(leakyRelu(last, 0.01)).index(0);
      const [logMagnitude, phaseLogits] = mx.split(out, [this.stft.bins], -1);
      return this.stft.inverse(mx.exp(logMagnitude), mx.sin(phaseLogits));
    }, { collect: true });
  }
}

/**
 * Kokoro's decoder: F0 and energy curves downsampled to the frame rate, an AdainResBlk1d encoder, decode
 * blocks fed the aligned text features again until the one that upsamples, then the generator.
 */
export class KokoroDecoder {
  private readonly f0Conv: Conv1d;
  private readonly noiseConv: Conv1d;
  private readonly encode: AdainResBlock;
  private readonly asrRes: Conv1d;
  private readonly blocks: AdainResBlock[];
  private readonly generator: Generator;

  constructor(weights: KokoroWeights, config: KokoroConfig) {
    const { hiddenDim: hidden, styleDim: style } = config;
    const curveConv = (module: string) =>
      weights.conv(module, { inChannels: 1, outChannels: 1, kernel: 3, stride: 2, padding: 1, weightNorm: true });
    this.f0Conv = curveConv('decoder.F0_conv');
    this.noiseConv = curveConv('decoder.N_conv');
    // The decoder's widths (1024 and 64 in Kokoro-82M) are fixed in hexgrad's code, not in the config: read them from the weights.
    const encodeWidth = weights.convOutChannels('decoder.encode.conv1');
    const residualWidth = weights.convOutChannels('decoder.asr_res.0');
    this.encode = new AdainResBlock(weights, 'decoder.encode', style, hidden + 2, encodeWidth, false);
    this.asrRes = weights.conv('decoder.asr_res.0', { inChannels: hidden, outChannels: residualWidth, kernel: 1, weightNorm: true });
    this.blocks = [];
    let width = encodeWidth;
    for (let i = 0; weights.has(`decoder.decode.${i}.conv1.weight_g`); i++) {
      const module = `decoder.decode.${i}`;
      const out = weights.convOutChannels(`${module}.conv1`);
      const upsample = weights.has(`${module}.pool.weight_g`);
      this.blocks.push(new AdainResBlock(weights, module, style, width + residualWidth + 2, out, upsample));
      width = out;
      if (upsample) {
        break;
      }
    }
    if (width !== config.istftnet.upsampleInitialChannel) {
      throw new ModelLoadError(
        `The decoder's last block outputs ${width} channels but istftnet.upsample_initial_channel is ${config.istftnet.upsampleInitialChannel}`,
      );
    }
    this.generator = new Generator(weights, config);
  }

  /** asr [1, frames, hidden], f0 and energy [2·frames] → waveform. */
  async forward(asr: mx.array, f0: mx.array, energy: mx.array, style: mx.array, noise: SourceNoise, work: PacedWork): Promise<mx.array> {
    const [f0Frames, energyFrames, encoded, residual] = await work.run(() => {
      const curve = (conv: Conv1d, values: mx.array) => conv.forward(values.reshape(1, -1, 1));
      const f0Down = curve(this.f0Conv, f0);
      const energyDown = curve(this.noiseConv, energy);
      return [f0Down, energyDown, this.encode.forward(mx.concatenate([asr, f0Down, energyDown], -1), style), this.asrRes.forward(asr)];
    });
    let x = encoded;
    for (const block of this.blocks) {
      const input = x;
      x = await work.run(() => block.forward(mx.concatenate([input, residual, f0Frames, energyFrames], -1), style));
    }
    return this.generator.forward(x, style, f0, noise, work);
  }
}
