import { core as mx } from '@frost-beta/mlx';
import type { MelSpectrogram } from '../../audio/mel-spectrogram';
import { PacedWork } from '../../runtime/paced-work';
import type { Dit } from './dit';
import type { DurationPredictor } from './duration';
import { rk4, swayedTimes } from './sampler';
import { F5Vocabulary, referencePrefix, spokenLength } from './text';
import type { Vocos } from './vocos';

/** f5-tts-mlx's sampling: 8 time points of RK4 (its `steps`), classifier-free guidance 2, sway sampling −1. */
export const F5_SAMPLING = { steps: 8, cfgStrength: 2, swayCoefficient: -1 } as const;

/**
 * The longest generation, reference included, in frames (~44 s at 24 kHz): F5's text position table and
 * f5-tts-mlx's max_duration.
 */
export const F5_MAX_FRAMES = 4096;

/**
 * A DiT evaluation leaves hundreds of MB of intermediates (420 MB at 256 wide over 700 frames, measured)
 * that stay allocated until their wrappers are collected: 28 of them grew a paragraph to 8 GB. Collecting
 * after each (with --expose-gc, as the workers run) keeps the peak at one evaluation's worth.
 */
const COLLECT = { collect: true };

/** The mel floor before the log (SWivid's get_vocos_mel_spectrogram, f5-tts-mlx's log_mel_spectrogram). */
const MEL_FLOOR = 1e-5;

export interface F5Parts {
  dit: Dit;
  duration: DurationPredictor | undefined;
  vocos: Vocos;
  mel: MelSpectrogram;
  vocabulary: F5Vocabulary;
  hop: number;
  weightBytes: number;
}

/** What one generation is asked to say, in whose voice. */
export interface F5Prompt {
  /** The reference clip's log-mel [frames, mels] (see referenceMel). */
  referenceMel: mx.array;
  /** The reference clip's transcript, as the speaker said it. */
  transcript: string;
  /** The new text. */
  text: string;
  /** Divides the new speech's duration (1: as the duration model or the reference's rate says). */
  speed: number;
}

/**
 * F5-TTS: a flow-matching DiT that infills the mel frames after a reference clip so that the whole says
 * the reference transcript followed by the new text, in the reference's voice; Vocos turns the mel into a
 * waveform. Dimensions come from the checkpoints; the framing (24 kHz, hop 256, 100 mels) from Vocos's config.
 */
export class F5Model {
  readonly dit: Dit;
  readonly duration: DurationPredictor | undefined;
  readonly vocos: Vocos;
  readonly vocabulary: F5Vocabulary;
  readonly hop: number;
  readonly weightBytes: number;
  private readonly mel: MelSpectrogram;

  constructor(parts: F5Parts) {
    ({ dit: this.dit, duration: this.duration, vocos: this.vocos, vocabulary: this.vocabulary, hop: this.hop, weightBytes: this.weightBytes, mel: this.mel } = parts);
  }

  get sampleRate(): number {
    return this.mel.sampleRate;
  }

  /**
   * The log-mel [⌊samples / hop⌋, mels] of a clip: torchaudio's centred magnitude mel spectrogram, floored
   * and logged, its last frame (the one centred past the end) dropped as f5-tts-mlx drops it, so that frame
   * i covers samples [i·hop, (i+1)·hop) and the clip's frames end where the new speech starts.
   */
  referenceMel(samples: mx.array): mx.array {
    const frames = Math.floor(samples.shape[0] / this.hop);
    const mel = this.mel.forward(samples).index(mx.Slice(0, frames));
    return mx.log(mx.maximum(mel, MEL_FLOOR));
  }

  /** The text F5 is conditioned on: the reference transcript, then the new text. */
  conditioningText(prompt: Pick<F5Prompt, 'transcript' | 'text'>): string {
    return referencePrefix(prompt.transcript) + prompt.text;
  }

  /**
   * Frames of reference and new speech together. With the duration model (duration_v2): its estimate of
   * the whole, in seconds at 24000/256 frames a second (the rate it was trained on), of which the part after
   * the reference is divided by `speed`. Without it: the reference's frames per byte of transcript times
   * the new text's bytes, divided by `speed` (f5-tts-mlx's estimate). At least one frame past the longer of
   * text and reference, at most F5_MAX_FRAMES.
   */
  async totalFrames(prompt: F5Prompt, tokens: readonly number[], work: PacedWork): Promise<number> {
    const referenceFrames = prompt.referenceMel.shape[0];
    let generated: number;
    if (this.duration !== undefined) {
      const duration = this.duration;
      const seconds = await work.run(() => duration.forward(prompt.referenceMel, mx.array([tokens.map((id) => id + 1)], mx.int32)), COLLECT);
      const predicted = (seconds.item() as number) * (this.sampleRate / this.hop);
      generated = Math.floor((predicted - referenceFrames) / prompt.speed);
    } else {
      const perByte = referenceFrames / spokenLength(referencePrefix(prompt.transcript));
      generated = Math.floor((perByte * spokenLength(prompt.text)) / prompt.speed);
    }
    const least = Math.max(tokens.length, referenceFrames) + 1;
    return Math.min(F5_MAX_FRAMES, Math.max(least, referenceFrames + generated, referenceFrames + 2));
  }

  /**
   * Samples the mel [frames, mels] of the whole (the reference's frames kept as they are): RK4 from the
   * noise [frames, mels] at t = 0 to the data at t = 1 along the DiT's velocity, guided away from the
   * unconditional velocity (reference and text dropped) by F5_SAMPLING.cfgStrength, on sway-sampled times.
   */
  async sample(referenceMel: mx.array, tokens: readonly number[], noise: mx.array, work: PacedWork = new PacedWork()): Promise<mx.array> {
    const [frames, mels] = noise.shape;
    const referenceFrames = referenceMel.shape[0];
    const ids = mx.array([tokens.slice(0, frames).map((id) => id + 1)], mx.int32);
    const padded = mx.pad(ids, [[0, 0], [0, frames - ids.shape[1]]]);
    const cond = mx.pad(referenceMel, [[0, frames - referenceFrames], [0, 0]]);
    // Row 0 is conditioned on the reference and the text, row 1 on neither; the padding mask is the text's for both.
    const condBatch = mx.stack([cond, mx.zerosLike(cond)]);
    const text = await work.run(() =>
      this.dit.text.forward(mx.concatenate([padded, mx.zerosLike(padded)], 0), mx.broadcastTo(mx.equal(padded, 0).reshape(1, frames, 1), [2, frames, 1])),
    );
    const { cfgStrength, steps, swayCoefficient } = F5_SAMPLING;
    const velocity = (t: number, y: mx.array): Promise<mx.array> =>
      work.run(() => {
        const [conditioned, unconditioned] = mx.split(this.dit.forward(mx.broadcastTo(y, [2, frames, mels]), condBatch, text, t), 2, 0);
        return mx.add(conditioned, mx.multiply(mx.subtract(conditioned, unconditioned), cfgStrength)).reshape(frames, mels);
      }, COLLECT);
    const sampled = await rk4(velocity, noise, swayedTimes(steps, swayCoefficient));
    const isReference = mx.less(mx.arange(0, frames, 1, mx.int32), referenceFrames).reshape(frames, 1);
    return work.run(() => mx.where(isReference, cond, sampled));
  }

  /** mel [frames, mels] → waveform [hop · (frames − 1)]. */
  vocode(mel: mx.array, work: PacedWork = new PacedWork()): Promise<mx.array> {
    return work.run(() => this.vocos.forward(mel), COLLECT);
  }
}
