import { core as mx } from '@frost-beta/mlx';
import { arrayFromHost } from '../../io/host-arrays';
import { PacedWork } from '../../runtime/paced-work';
import { SpeechInputError, type ReferenceVoice, type SpeechChunk, type SpeechRequest, type SpeechSynthesizer } from '../speech-synthesizer';
import type { F5Model } from './model';
import { chunkText, referencePrefix } from './text';

/** A quieter reference is brought up to this RMS and the speech scaled back by the same factor (SWivid's infer_process). */
const TARGET_RMS = 0.1;
/**
 * Seconds of reference and new speech one generation aims at: the new text of a chunk gets as many bytes
 * as the reference speaks in the seconds left (SWivid's chunking budget).
 */
const GENERATION_SECONDS = 22;
/** The fewest bytes of new text per chunk, whatever the reference's pace. */
const MIN_CHUNK_BYTES = 20;

function rootMeanSquare(samples: Float32Array): number {
  let sum = 0;
  for (const sample of samples) {
    sum += sample * sample;
  }
  return Math.sqrt(sum / Math.max(1, samples.length));
}

/**
 * Text to speech with F5-TTS in a cloned voice: the request's reference clip and transcript condition
 * every chunk of the input (sentences and clauses joined up to the budget), each sampled with its own
 * noise drawn from the request's seed, and yielded with the reference part cut off.
 */
export class F5Synthesizer implements SpeechSynthesizer {
  constructor(private readonly model: F5Model) {}

  get sampleRate(): number {
    return this.model.sampleRate;
  }

  /** None of its own: every request brings the reference voice it is spoken in. */
  voices(): Promise<string[]> {
    return Promise.resolve([]);
  }

  async *synthesize(request: SpeechRequest): AsyncGenerator<SpeechChunk> {
    const reference = this.checkedReference(request);
    const work = new PacedWork(request.turns, request.signal);
    const rms = rootMeanSquare(reference.samples);
    const gain = rms > 0 && rms < TARGET_RMS ? TARGET_RMS / rms : 1;
    const audio = arrayFromHost(gain === 1 ? reference.samples : reference.samples.map((sample) => sample * gain));
    const referenceMel = await work.run(() => this.model.referenceMel(audio));
    const referenceFrames = referenceMel.shape[0];
    const seconds = reference.samples.length / this.sampleRate;
    const bytesPerSecond = Buffer.byteLength(referencePrefix(reference.transcript), 'utf8') / seconds;
    const chunks = chunkText(request.input, Math.max(MIN_CHUNK_BYTES, Math.floor(bytesPerSecond * (GENERATION_SECONDS - seconds))));
    if (chunks.length === 0) {
      throw new SpeechInputError('The input has nothing to say', 'input');
    }
    let key = mx.random.key(request.seed);
    for (const [index, text] of chunks.entries()) {
      const prompt = { referenceMel, transcript: reference.transcript, text, speed: request.speed };
      const tokens = this.model.vocabulary.encode(this.model.conditioningText(prompt));
      const frames = await this.model.totalFrames(prompt, tokens, work);
      // One key per chunk, split off a chain from the seed: chunk i's noise depends only on (seed, i).
      const [next, chunkKey] = mx.random.split(key, 2);
      key = next;
      // Drawn [mels, frames] and transposed, as f5-tts-mlx draws it.
      const noise = mx.random.normal([this.model.dit.dims.mels, frames], mx.float32, 0, 1, chunkKey).T;
      const mel = await this.model.sample(referenceMel, tokens, noise, work);
      const wave = await this.model.vocode(mel, work);
      const spoken = await work.run(() => mx.divide(wave.index(mx.Slice(referenceFrames * this.model.hop)), gain));
      yield { index, phonemes: text, frames: frames - referenceFrames, samples: Float32Array.from(spoken.tolist() as number[]) };
    }
  }

  private checkedReference(request: SpeechRequest): ReferenceVoice {
    const reference = request.reference;
    if (reference === undefined) {
      throw new SpeechInputError(`F5-TTS speaks in a registered reference voice; "${request.voice}" brought no reference clip`, 'voice');
    }
    if (reference.samples.length < 2 * this.model.hop || reference.transcript.trim() === '') {
      throw new SpeechInputError(`The reference voice "${request.voice}" has no audio or no transcript`, 'voice');
    }
    return reference;
  }
}
