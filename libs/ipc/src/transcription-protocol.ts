import type { StreamMethod } from './protocol';

/** What the API asks a worker to transcribe: an uploaded file already on the worker's disk. */
export interface TranscriptionParams {
  /** The id the client used; echoed in logs and errors. */
  model: string;
  /** The API key's name ('' when keys are off): the worker shares its compute fairly between callers. */
  caller: string;
  modelPath: string;
  /** The spooled upload; the API deletes it once the request ends. */
  audioPath: string;
  /** `translate` renders the speech as English text. */
  task: 'transcribe' | 'translate';
  /** A language code or name as the client sent it; absent: detected. */
  language?: string;
  prompt?: string;
  /** One pass at this temperature; absent: the fallback schedule. */
  temperature?: number;
  wordTimestamps: boolean;
}

export interface WireWord {
  word: string;
  start: number;
  end: number;
  probability: number;
}

/** A decoded segment in OpenAI's TranscriptionSegment names, with its words when they were asked for. */
export interface WireSegment {
  id: number;
  seek: number;
  start: number;
  end: number;
  text: string;
  tokens: number[];
  temperature: number;
  avg_logprob: number;
  compression_ratio: number;
  no_speech_prob: number;
  words?: WireWord[];
}

/** The language first (so a refusal still happens before any chunk), then segments as each window is decoded. */
export type TranscriptionChunk = { type: 'language'; language: string } | { type: 'segment'; segment: WireSegment };

export interface TranscriptionResult {
  /** The language's English name, lowercase ("english"), as OpenAI reports it. */
  language: string;
  /** Seconds of audio. */
  duration: number;
  text: string;
}

export type TranscribeMethod = StreamMethod<TranscriptionParams, TranscriptionChunk, TranscriptionResult>;
