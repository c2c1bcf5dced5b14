import type { SpeechResponseFormat } from '@mlx-omni/openai-dto';
import type { ArtifactRef } from './artifacts';

export interface SpeechFormatFacts {
  contentType: string;
  extension: string;
  /** The file is valid as it is written, so it can be sent while the rest is synthesised. */
  progressive: boolean;
}

/**
 * How each of OpenAI's `response_format`s is made and served (at the model's rate, mono). wav and flac
 * state their length in a header written last, so they are sent whole; the others as they grow.
 * Keyed by the DTO's list, so a format added there without its facts here does not compile.
 */
export const SPEECH_FORMATS: Readonly<Record<SpeechResponseFormat, SpeechFormatFacts>> = {
  mp3: { contentType: 'audio/mpeg', extension: 'mp3', progressive: true },
  // Opus in an Ogg container (RFC 7845 names it audio/ogg).
  opus: { contentType: 'audio/ogg', extension: 'opus', progressive: true },
  // AAC in ADTS frames, which need no container header.
  aac: { contentType: 'audio/aac', extension: 'aac', progressive: true },
  flac: { contentType: 'audio/flac', extension: 'flac', progressive: false },
  wav: { contentType: 'audio/wav', extension: 'wav', progressive: false },
  // Raw signed 16-bit little-endian samples, no header.
  pcm: { contentType: 'audio/pcm', extension: 'pcm', progressive: true },
};

export interface SpeechPayload {
  /** The id the request named, and the folder it resolved to. */
  model: string;
  model_path: string;
  input: string;
  /** One of the model's voices (an OpenAI name already mapped), or a registered reference voice's name. */
  voice: string;
  /**
   * For a family that clones a voice (F5-TTS): the registered voice's clip (a WAV under the state
   * directory, read by path) and what it says.
   */
  reference?: { audio_path: string; transcript: string };
  speed: number;
  seed: number;
  response_format: SpeechResponseFormat;
}

/** Reported while the job runs; `file` appears when the audio file starts being written. */
export interface SpeechProgress {
  chunks_done: number;
  audio_seconds: number;
  /** The file being written, for a progressive format to be sent as it grows. */
  file?: { id: string; filename: string };
}

export interface SpeechChunkReport {
  index: number;
  /** The phonemes the chunk was synthesised from, for checking pronunciation. */
  phonemes: string;
  /** Frames the duration model gave the chunk (Kokoro: 40 a second), reported as output tokens. */
  frames: number;
  samples: number;
}

export interface SpeechResult {
  model: string;
  voice: string;
  response_format: SpeechResponseFormat;
  sample_rate: number;
  audio_seconds: number;
  file: ArtifactRef;
  chunks: SpeechChunkReport[];
}
