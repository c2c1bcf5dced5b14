import { core as mx } from '@frost-beta/mlx';
import { arrayFromHost } from '../io/host-arrays';
import { HOP_LENGTH, N_FFT, SAMPLE_RATE } from './constants';

/** Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above. */
const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

/** The two mel scales in use: Slaney's (librosa, Whisper) and HTK's 2595·log10(1 + f/700) (torchaudio's default: Vocos, F5-TTS). */
export type MelScale = 'slaney' | 'htk';

const MEL_SCALES: Readonly<Record<MelScale, { toMel(hz: number): number; toHz(mel: number): number }>> = {
  slaney: {
    toMel: (hz) => (hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP),
    toHz: (mel) => (mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel),
  },
  htk: {
    toMel: (hz) => 2595 * Math.log10(1 + hz / 700),
    toHz: (mel) => 700 * (10 ** (mel / 2595) - 1),
  },
};

export interface MelFilterOptions {
  scale: MelScale;
  /** Slaney's area normalisation (each triangle scaled by 2 / its width in Hz), or none (torchaudio's default). */
  areaNormalised: boolean;
}

/**
 * Triangular mel filters [nMels, nFft/2 + 1] (row-major) between nMels + 2 points evenly spaced in mel
 * from 0 Hz to sampleRate/2, computed in double precision. The default is librosa.filters.mel(sr, n_fft,
 * n_mels) (Slaney scale and area normalisation), which is what Whisper's bundled mel_filters.npz holds;
 * `{ scale: 'htk', areaNormalised: false }` is torchaudio's melscale_fbanks as MelSpectrogram uses it.
 */
export function melFilterbank(nMels: number, sampleRate = SAMPLE_RATE, nFft = N_FFT, options: MelFilterOptions = { scale: 'slaney', areaNormalised: true }): Float32Array {
  const { toMel, toHz } = MEL_SCALES[options.scale];
  const bins = nFft / 2 + 1;
  const fftFreqs = Array.from({ length: bins }, (_, i) => (i * sampleRate) / nFft);
  const maxMel = toMel(sampleRate / 2);
  const melPoints = Array.from({ length: nMels + 2 }, (_, i) => toHz((i * maxMel) / (nMels + 1)));
  const filters = new Float32Array(nMels * bins);
  for (let m = 0; m < nMels; m++) {
    const [left, centre, right] = [melPoints[m], melPoints[m + 1], melPoints[m + 2]];
    const norm = options.areaNormalised ? 2 / (right - left) : 1;
    for (let k = 0; k < bins; k++) {
      const rising = (fftFreqs[k] - left) / (centre - left);
      const falling = (right - fftFreqs[k]) / (right - centre);
      filters[m * bins + k] = Math.max(0, Math.min(rising, falling)) * norm;
    }
  }
  return filters;
}

/** numpy's hanning(size + 1)[:-1]: the periodic Hann window torch.stft and mlx_whisper use. */
export function periodicHann(size: number): Float32Array {
  return Float32Array.from({ length: size }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / size));
}

/** Frames per block: bounds the framed copy of the signal and its spectrum (a few tens of MB) for hour-long audio. */
const BLOCK_FRAMES = 6000;

const filterCache = new Map<number, mx.array>();
let windowArray: mx.array | undefined;

/**
 * Whisper's log-mel spectrogram [frames, nMels] of 16 kHz `samples` followed by `padding` zeros,
 * as mlx_whisper computes it: an STFT with reflect padding (n_fft 400, hop 160, periodic Hann,
 * the last frame dropped as torch.stft's centre frame is), power spectrum through the Slaney
 * filters, log10 clamped at 1e-10, floored at 8 below its maximum, and scaled to (x + 4) / 4.
 * One frame per 160 samples: floor((samples + padding) / 160) frames.
 */
export async function logMelSpectrogram(samples: Float32Array, nMels: number, { padding = 0 }: { padding?: number } = {}): Promise<mx.array> {
  let filtersT = filterCache.get(nMels);
  if (filtersT === undefined) {
    filtersT = arrayFromHost(melFilterbank(nMels), [nMels, N_FFT / 2 + 1]).T;
    filterCache.set(nMels, filtersT);
  }
  windowArray ??= arrayFromHost(periodicHann(N_FFT));
  const edge = N_FFT / 2;
  let audio = arrayFromHost(samples);
  if (padding > 0) {
    audio = mx.concatenate([audio, mx.zeros([padding], mx.float32)]);
  }
  const length = audio.shape[0];
  if (length <= edge) {
    throw new RangeError(`reflect padding needs more than ${edge} samples, got ${length}`);
  }
  const padded = mx.concatenate([audio.index(mx.Slice(edge, 0, -1)), audio, audio.index(mx.Slice(-2, -edge - 2, -1))]);
  const frames = Math.floor(length / HOP_LENGTH);
  const blocks: mx.array[] = [];
  for (let start = 0; start < frames; start += BLOCK_FRAMES) {
    const count = Math.min(BLOCK_FRAMES, frames - start);
    blocks.push(logMelBlock(padded, start, count, filtersT, windowArray));
    mx.eval(blocks[blocks.length - 1]);
    await new Promise(setImmediate);
  }
  const logSpec = blocks.length === 1 ? blocks[0] : mx.concatenate(blocks, 0);
  const floored = mx.maximum(logSpec, mx.subtract(mx.max(logSpec), 8));
  const scaled = mx.divide(mx.add(floored, 4), 4);
  mx.eval(scaled);
  return scaled;
}

/**
 * log10 mel energies of frames [start, start + count): frame i is padded[160i, 160i + 400), built
 * from rows of 160 samples (row i, row i+1 and half of row i+2), no strided view needed.
 */
function logMelBlock(padded: mx.array, start: number, count: number, filtersT: mx.array, window: mx.array): mx.array {
  const rows = padded.index(mx.Slice(start * HOP_LENGTH, (start + count + 2) * HOP_LENGTH)).reshape(count + 2, HOP_LENGTH);
  const tail = N_FFT - 2 * HOP_LENGTH;
  const framed = mx.concatenate(
    [rows.index(mx.Slice(0, count)), rows.index(mx.Slice(1, count + 1)), rows.index(mx.Slice(2, count + 2), mx.Slice(0, tail))],
    1,
  );
  const spectrum = mx.fft.rfft(mx.multiply(framed, window), N_FFT, -1);
  const power = mx.square(mx.abs(spectrum));
  return mx.log10(mx.maximum(mx.matmul(power, filtersT), 1e-10));
}
