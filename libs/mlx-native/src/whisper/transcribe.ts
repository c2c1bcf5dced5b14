import { core as mx } from '@frost-beta/mlx';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { HOP_LENGTH, N_FRAMES, N_SAMPLES, SAMPLE_RATE } from '../audio/constants';
import { logMelSpectrogram } from '../audio/log-mel';
import { gated, type StepGate } from '../runtime/step-gate';
import type { WindowDecoder, WindowDecoding } from './decoding';
import type { WhisperModel } from './model';
import { assignWordTimestamps, findAlignment, type TimedWord } from './timing';
import type { WhisperTask, WhisperTokenizer } from './tokenizer';

/** mlx_whisper's temperature schedule when none is given: each next one is tried while a window fails the thresholds. */
export const FALLBACK_TEMPERATURES = [0, 0.2, 0.4, 0.6, 0.8, 1.0];
const COMPRESSION_RATIO_THRESHOLD = 2.4;
const LOGPROB_THRESHOLD = -1.0;
const NO_SPEECH_THRESHOLD = 0.6;

/** A model ready to transcribe: weights, tokenizer and a window decoder with its masks built. */
export interface LoadedWhisper {
  model: WhisperModel;
  tokenizer: WhisperTokenizer;
  decoder: WindowDecoder;
}

export interface TranscribeOptions {
  task: WhisperTask;
  /** A language code; detected from the first 30 seconds when absent (English-only models: always English). */
  language?: string;
  /** One pass at this temperature; absent: the fallback schedule with its thresholds. */
  temperature?: number;
  /** Text the first window is conditioned on (spelling, names, style). */
  prompt?: string;
  wordTimestamps?: boolean;
  /** Condition each window on the text before it (default true). */
  conditionOnPreviousText?: boolean;
  /** Each encoder pass and decoder step waits for its turn here. */
  gate?: StepGate;
  signal?: AbortSignal;
  /** Filled in as the transcription runs: where the time went (benchmarks, logs). */
  timings?: TranscriptionTimings;
}

/** Seconds spent per stage, waiting for the step gate included. */
export interface TranscriptionTimings {
  frontEndSeconds: number;
  encoderSeconds: number;
  decoderSeconds: number;
  windows: number;
  /** Tokens sampled over every decoding pass (fallback passes included). */
  decodedTokens: number;
}

/** Adds the seconds `work` takes to `field` of the timings, when there are timings to fill. */
async function timed<T>(timings: TranscriptionTimings | undefined, field: 'frontEndSeconds' | 'encoderSeconds' | 'decoderSeconds', work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    if (timings) {
      timings[field] += (performance.now() - started) / 1000;
    }
  }
}

export interface TranscriptSegment {
  id: number;
  /** The window's first mel frame (10 ms each). */
  seek: number;
  start: number;
  end: number;
  text: string;
  /** Tokens of the segment, timestamps included. */
  tokens: number[];
  temperature: number;
  avgLogprob: number;
  compressionRatio: number;
  noSpeechProb: number;
  words?: TimedWord[];
}

export type TranscriptionEvent = { type: 'language'; language: string } | { type: 'segment'; segment: TranscriptSegment };

export interface TranscriptSummary {
  language: string;
  /** Seconds of audio. */
  duration: number;
  /** The segments' text joined. */
  text: string;
}

/** The log-mel frames [seek, seek + size) of `mel`, zero-padded to a full window in the log-mel domain. */
function windowOf(mel: mx.array, seek: number, size: number): mx.array {
  const frames = mel.index(mx.Slice(seek, seek + size));
  return size === N_FRAMES ? frames : mx.concatenate([frames, mx.zeros([N_FRAMES - size, mel.shape[1]], frames.dtype)], 0);
}

/**
 * Transcribes (or translates to English) 16 kHz mono `samples` as mlx_whisper.transcribe does:
 * 30-second windows over the log-mel spectrogram, each decoded with timestamps and temperature
 * fallback, cut into segments at timestamp pairs; the next window starts at the last complete
 * segment and is prompted with the text so far. Yields the language, then each window's segments
 * as soon as they are decoded; returns the summary.
 */
export async function* transcribe(whisper: LoadedWhisper, samples: Float32Array, options: TranscribeOptions): AsyncGenerator<TranscriptionEvent, TranscriptSummary> {
  const { model, tokenizer, decoder } = whisper;
  const { eot, timestampBegin, multilingual } = tokenizer.special;
  const timings = options.timings;
  const mel = await timed(timings, 'frontEndSeconds', () => logMelSpectrogram(samples, model.dims.nMels, { padding: N_SAMPLES }));
  const contentFrames = mel.shape[0] - N_FRAMES;
  const duration = (contentFrames * HOP_LENGTH) / SAMPLE_RATE;
  const encode = (window: mx.array) =>
    timed(timings, 'encoderSeconds', () =>
      gated(options.gate, () => {
        const audio = model.encode(window);
        mx.eval(audio);
        return audio;
      }),
    );

  let language = options.language ?? 'en';
  if (options.language === undefined && multilingual) {
    const audio = await encode(windowOf(mel, 0, N_FRAMES));
    language = (await timed(timings, 'decoderSeconds', () => decoder.detectLanguage(audio, options.gate))).language;
  }
  yield { type: 'language', language };

  const inputStride = N_FRAMES / model.dims.nAudioCtx;
  const timePrecision = (inputStride * HOP_LENGTH) / SAMPLE_RATE;
  const allTokens: number[] = options.prompt === undefined ? [] : tokenizer.encode(` ${options.prompt.trim()}`);
  let promptResetSince = 0;
  let segmentCount = 0;
  const texts: string[] = [];
  let lastSpeechTimestamp = 0;
  let seek = 0;

  while (seek < contentFrames) {
    options.signal?.throwIfAborted();
    const timeOffset = (seek * HOP_LENGTH) / SAMPLE_RATE;
    const segmentSize = Math.min(N_FRAMES, contentFrames - seek);
    const audio = await encode(windowOf(mel, seek, segmentSize));
    const result = await timed(timings, 'decoderSeconds', () => decodeWithFallback(decoder, audio, options, language, allTokens.slice(promptResetSince)));
    if (timings) {
      timings.windows += 1;
    }
    const tokens = result.tokens;

    if (result.noSpeechProb > NO_SPEECH_THRESHOLD && !(result.avgLogprob > LOGPROB_THRESHOLD)) {
      seek += segmentSize;
      continue;
    }

    const segmentAt = (start: number, end: number, segmentTokens: number[]): TranscriptSegment => ({
      id: 0,
      seek,
      start,
      end,
      text: tokenizer.decode(segmentTokens.filter((token) => token < eot)),
      tokens: segmentTokens,
      temperature: result.temperature,
      avgLogprob: result.avgLogprob,
      compressionRatio: result.compressionRatio,
      noSpeechProb: result.noSpeechProb,
    });
    const windowStart = seek;
    const isTimestamp = tokens.map((token) => token >= timestampBegin);
    const singleTimestampEnding = tokens.length >= 2 && !isTimestamp[tokens.length - 2] && isTimestamp[tokens.length - 1];
    const consecutive = isTimestamp.flatMap((flag, i) => (i > 0 && flag && isTimestamp[i - 1] ? [i] : []));
    const current: TranscriptSegment[] = [];
    if (consecutive.length > 0) {
      const slices = singleTimestampEnding ? [...consecutive, tokens.length] : consecutive;
      let lastSlice = 0;
      for (const slice of slices) {
        const sliced = tokens.slice(lastSlice, slice);
        const startPosition = sliced[0] - timestampBegin;
        const endPosition = sliced[sliced.length - 1] - timestampBegin;
        current.push(segmentAt(timeOffset + startPosition * timePrecision, timeOffset + endPosition * timePrecision, sliced));
        lastSlice = slice;
      }
      // A single timestamp at the end means no speech after it; otherwise resume at the last complete segment.
      seek += singleTimestampEnding ? segmentSize : (tokens[lastSlice - 1] - timestampBegin) * inputStride;
    } else {
      let segmentDuration = (segmentSize * HOP_LENGTH) / SAMPLE_RATE;
      const timestamps = tokens.filter((token) => token >= timestampBegin);
      if (timestamps.length > 0 && timestamps[timestamps.length - 1] !== timestampBegin) {
        segmentDuration = (timestamps[timestamps.length - 1] - timestampBegin) * timePrecision;
      }
      current.push(segmentAt(timeOffset, timeOffset + segmentDuration, tokens));
      seek += segmentSize;
    }

    if (options.wordTimestamps) {
      const textTokens = current.flatMap((segment) => segment.tokens.filter((token) => token < eot));
      const sotSequence = tokenizer.sotSequence(language, options.task);
      const alignment = await timed(timings, 'decoderSeconds', () => findAlignment(model, tokenizer, audio, textTokens, segmentSize, sotSequence, language, options.gate));
      assignWordTimestamps(current, alignment, eot, lastSpeechTimestamp);
      const lastWordEnd = speechEnd(current);
      if (!singleTimestampEnding && lastWordEnd !== undefined && lastWordEnd > timeOffset) {
        seek = Math.round(lastWordEnd * (SAMPLE_RATE / HOP_LENGTH));
      }
      if (lastWordEnd !== undefined) {
        lastSpeechTimestamp = lastWordEnd;
      }
    }

    for (const segment of current) {
      // An instantaneous or empty segment is kept in the list, emptied.
      if (segment.start === segment.end || segment.text.trim() === '') {
        segment.text = '';
        segment.tokens = [];
        if (segment.words) {
          segment.words = [];
        }
      }
      segment.id = segmentCount++;
      allTokens.push(...segment.tokens);
      texts.push(segment.text);
      yield { type: 'segment', segment };
    }
    if (options.conditionOnPreviousText === false || result.temperature > 0.5) {
      // After a high temperature the text is likely poor: do not condition the next window on it.
      promptResetSince = allTokens.length;
    }
    if (seek <= windowStart) {
      // Word times can round back onto the window's start; moving on beats decoding the same window forever.
      seek = windowStart + segmentSize;
    }
    await nextMacrotask();
  }
  return { language, duration, text: texts.join('') };
}

/** Decodes a window at the given temperature, or down the fallback schedule while the result looks like a failure. */
async function decodeWithFallback(
  decoder: WindowDecoder,
  audio: mx.array,
  options: TranscribeOptions,
  language: string,
  prompt: readonly number[],
): Promise<WindowDecoding> {
  const temperatures = options.temperature === undefined ? FALLBACK_TEMPERATURES : [options.temperature];
  let result: WindowDecoding | undefined;
  for (const temperature of temperatures) {
    result = await decoder.decode(audio, {
      task: options.task,
      language,
      temperature,
      prompt,
      maxInitialTimestamp: 1.0,
      gate: options.gate,
      signal: options.signal,
    });
    if (options.timings) {
      options.timings.decodedTokens += result.tokens.length + 1;
    }
    const failed = result.compressionRatio > COMPRESSION_RATIO_THRESHOLD || result.avgLogprob < LOGPROB_THRESHOLD;
    if (!failed || result.noSpeechProb > NO_SPEECH_THRESHOLD) {
      break;
    }
  }
  return result!;
}

/** Where speech last ended in these segments: the last word's end, else the last segment's. */
function speechEnd(segments: readonly TranscriptSegment[]): number | undefined {
  for (const segment of [...segments].reverse()) {
    const words = segment.words ?? [];
    if (words.length > 0) {
      return words[words.length - 1].end;
    }
  }
  return segments.length > 0 ? segments[segments.length - 1].end : undefined;
}
