import { core as mx } from '@frost-beta/mlx';
import { melFilterbank, type MelFilterOptions } from './log-mel';
import type { Stft } from './stft';

/**
 * torchaudio's MelSpectrogram with power 1 (what Vocos and F5-TTS compute their features with): the
 * magnitudes of a centred, reflect-padded STFT with a periodic Hann window through triangular mel filters,
 * [frames, nMels] with frames = ⌊samples / hop⌋ + 1. The STFT is passed in so a vocoder's inverse can share it.
 */
export class MelSpectrogram {
  private readonly filtersT: mx.array;

  constructor(
    private readonly stft: Stft,
    readonly sampleRate: number,
    readonly nMels: number,
    filters: MelFilterOptions,
  ) {
    this.filtersT = mx.array(Array.from(melFilterbank(nMels, sampleRate, stft.fftSize, filters)), mx.float32).reshape(nMels, stft.bins).T;
  }

  forward(signal: mx.array): mx.array {
    return mx.matmul(this.stft.magnitude(signal), this.filtersT);
  }
}
