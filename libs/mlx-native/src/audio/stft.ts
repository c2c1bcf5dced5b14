import { core as mx } from '@frost-beta/mlx';
import { Conv1d, ConvTranspose1d, convTranspose1dWeightFromTorch } from '../nn/conv';
import { periodicHann } from './log-mel';

/** Quadrant-aware arctangent; present in the binding's native module though missing from its typings. */
const arctan2 = (mx as unknown as { arctan2(y: mx.array, x: mx.array): mx.array }).arctan2;

/** cos and sin of 2π·k·n/N, reduced to (k·n mod N) first so large k·n lose no precision. */
function twiddle(k: number, n: number, size: number): [number, number] {
  const angle = (2 * Math.PI * ((k * n) % size)) / size;
  return [Math.cos(angle), Math.sin(angle)];
}

/** A constant host table as a float32 array of `shape`. */
function constant(values: ArrayLike<number>, shape: number[]): mx.array {
  return mx.array(Array.from(values), mx.float32).reshape(shape);
}

/** Reflect padding of a 1-D signal by `pad` on both sides (NumPy's `reflect`: the edge sample is not repeated). */
function reflectPad(signal: mx.array, pad: number): mx.array {
  const length = signal.shape[0];
  if (pad >= length) {
    throw new RangeError(`Reflect padding of ${pad} needs a signal longer than ${pad} samples, got ${length}`);
  }
  const left = mx.take(signal, mx.arange(pad, 0, -1, mx.int32), 0);
  const right = mx.take(signal, mx.arange(length - 2, length - 2 - pad, -1, mx.int32), 0);
  return mx.concatenate([left, signal, right]);
}

/**
 * Short-time Fourier transform with a periodic Hann window the length of the FFT and centred frames,
 * matching `torch.stft(center=True, pad_mode='reflect')` and `torch.istft(center=True)`. Both directions
 * run as strided convolutions with the windowed DFT basis, which is fast for the short FFTs vocoders
 * use (iSTFTNet: 16-20 points) and needs no complex dtype.
 */
export class Stft {
  readonly bins: number;
  private readonly analysis: Conv1d;
  private readonly synthesis: ConvTranspose1d;
  private readonly windowSquared: ConvTranspose1d;
  /** True for the bins whose imaginary part is identically zero for real input (DC, and Nyquist for even sizes). */
  private readonly realOnlyBins: mx.array;

  constructor(
    readonly fftSize: number,
    readonly hop: number,
  ) {
    const size = fftSize;
    this.bins = Math.floor(size / 2) + 1;
    const window = periodicHann(size);
    const bins = this.bins;

    // Analysis: [2·bins, N, 1], rows Re then Im of Σ x[n]·w[n]·e^{-2πikn/N}.
    const analysis = new Float64Array(2 * bins * size);
    // Synthesis (a one-sided inverse DFT, windowed for overlap-add), in PyTorch's ConvTranspose1d layout [2·bins, 1, N].
    const synthesis = new Float64Array(2 * bins * size);
    for (let k = 0; k < bins; k++) {
      const weight = k === 0 || 2 * k === size ? 1 : 2;
      for (let n = 0; n < size; n++) {
        const [cos, sin] = twiddle(k, n, size);
        analysis[k * size + n] = window[n] * cos;
        analysis[(bins + k) * size + n] = -window[n] * sin;
        synthesis[k * size + n] = (weight * cos * window[n]) / size;
        synthesis[(bins + k) * size + n] = (-weight * sin * window[n]) / size;
      }
    }
    this.analysis = new Conv1d(constant(analysis, [2 * bins, size, 1]), undefined, { stride: hop });
    this.synthesis = new ConvTranspose1d(convTranspose1dWeightFromTorch(constant(synthesis, [2 * bins, 1, size]), 1), undefined, { stride: hop });
    this.windowSquared = new ConvTranspose1d(constant(window.map((w) => w * w), [1, size, 1]), undefined, { stride: hop });
    this.realOnlyBins = mx.array(Array.from({ length: bins }, (_, k) => k === 0 || 2 * k === size)).reshape(1, bins);
  }

  /** signal [samples] → magnitude [frames, bins] (torch.stft(…).abs()), frames = ⌊samples / hop⌋ + 1. */
  magnitude(signal: mx.array): mx.array {
    const [re, im] = mx.split(this.spectrum(signal), [this.bins], -1);
    return mx.sqrt(mx.add(mx.square(re), mx.square(im)));
  }

  /** signal [samples] → magnitude and phase, each [frames, bins] with frames = ⌊samples / hop⌋ + 1. */
  magnitudePhase(signal: mx.array): { magnitude: mx.array; phase: mx.array } {
    const spectrum = this.spectrum(signal);
    const [re, rawIm] = mx.split(spectrum, [this.bins], -1);
    // Imaginary parts that are exactly zero in exact arithmetic are made +0, as an FFT's pairwise
    // cancellation makes them: at DC and Nyquist, and in the whole first frame, which reflect padding
    // makes symmetric about its centre. Left to the basis's rounding, their sign (and so a phase of +π
    // or −π where the real part is negative) would be noise.
    const frames = spectrum.shape[0];
    const firstFrame = mx.array(Array.from({ length: frames }, (_, f) => f === 0)).reshape(frames, 1);
    const im = mx.where(mx.logicalOr(this.realOnlyBins, firstFrame), mx.zeros([1, this.bins]), rawIm);
    return { magnitude: mx.sqrt(mx.add(mx.square(re), mx.square(im))), phase: arctan2(im, re) };
  }

  /** Real parts then imaginary parts of each centred frame's DFT, [frames, 2·bins]. */
  private spectrum(signal: mx.array): mx.array {
    const padded = reflectPad(signal, Math.floor(this.fftSize / 2));
    return this.analysis.forward(padded.reshape(1, -1, 1)).index(0);
  }

  /**
   * magnitude, phase [frames, bins] → signal [hop·(frames − 1)]: overlap-added, divided by the summed
   * squared window, with the centring padding trimmed (torch.istft). As there, the imaginary parts of
   * the DC and Nyquist bins are ignored.
   */
  inverse(magnitude: mx.array, phase: mx.array): mx.array {
    const frames = magnitude.shape[0];
    const spectrum = mx.concatenate([mx.multiply(magnitude, mx.cos(phase)), mx.multiply(magnitude, mx.sin(phase))], -1);
    const summed = this.synthesis.forward(spectrum.reshape(1, frames, 2 * this.bins)).flatten();
    const envelope = this.windowSquared.forward(mx.ones([1, frames, 1])).flatten();
    const start = Math.floor(this.fftSize / 2);
    const end = start + this.hop * (frames - 1);
    const trim = (a: mx.array) => a.index(mx.Slice(start, end));
    return mx.divide(trim(summed), trim(envelope));
  }
}
