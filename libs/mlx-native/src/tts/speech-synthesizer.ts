import type { StepGate } from '../runtime/step-gate';

/** A voice given by example, for the families that clone one (F5-TTS): a clip and the words it says. */
export interface ReferenceVoice {
  /** Mono samples in [-1, 1] at the synthesizer's sample rate. */
  samples: Float32Array;
  transcript: string;
}

export interface SpeechRequest {
  input: string;
  /** One of the model's voices, or the name of the reference voice given in `reference`. */
  voice: string;
  /** The voice to clone, for a family that clones one; the others ignore it. */
  reference?: ReferenceVoice;
  /** 0.25-4; how the model honours it is its own (Kokoro divides its predicted durations). */
  speed: number;
  /** Seeds every random draw, so the same request gives the same audio. */
  seed: number;
  signal?: AbortSignal;
  /** Turns on the device shared with the worker's other work. */
  turns?: StepGate;
}

/** One piece of the audio, in order; the pieces concatenated are the whole. */
export interface SpeechChunk {
  index: number;
  /** The phonemes this chunk was synthesised from, for checking pronunciation. */
  phonemes: string;
  /** Acoustic frames the model predicted for it (its output tokens). */
  frames: number;
  /** Mono samples in [-1, 1] at the synthesizer's sample rate. */
  samples: Float32Array;
}

/** A loaded text-to-speech model, whatever its family. */
export interface SpeechSynthesizer {
  readonly sampleRate: number;
  /** The voices it ships (Kokoro's packs); none for a family that clones each request's reference voice. */
  voices(): Promise<string[]>;
  synthesize(request: SpeechRequest): AsyncGenerator<SpeechChunk>;
}

/** The request names a voice the model does not have, or text the model cannot say; a client error. */
export class SpeechInputError extends Error {
  constructor(
    message: string,
    readonly param: 'voice' | 'input',
  ) {
    super(message);
    this.name = new.target.name;
  }
}
