import { Injectable } from '@nestjs/common';
import type { StreamContext, TranscriptionChunk, TranscriptionParams, TranscriptionResult, WireSegment } from '@mlx-omni/ipc';
import {
  AudioDecodeError,
  decodeAudioFile,
  FairStepScheduler,
  languageCode,
  languageName,
  transcribe,
  type TranscriptSegment,
} from '@mlx-omni/mlx-native';
import { badRequest } from '../generation/choice-generator';
import { ModelPoolService, type Pooled } from '../models/model-pool.service';

function toWire(segment: TranscriptSegment): WireSegment {
  return {
    id: segment.id,
    seek: segment.seek,
    start: segment.start,
    end: segment.end,
    text: segment.text,
    tokens: segment.tokens,
    temperature: segment.temperature,
    avg_logprob: segment.avgLogprob,
    compression_ratio: segment.compressionRatio,
    no_speech_prob: segment.noSpeechProb,
    ...(segment.words ? { words: segment.words } : {}),
  };
}

/**
 * Transcribes and translates uploaded audio with a pooled Whisper model: decodes the file with
 * ffmpeg, then streams each window's segments back as they are decoded. Every encoder pass and
 * decoder step takes its turn in the worker's fair scheduler, so chat streams keep flowing.
 */
@Injectable()
export class TranscriptionService {
  constructor(
    private readonly pool: ModelPoolService,
    private readonly scheduler: FairStepScheduler,
  ) {}

  transcribe(params: TranscriptionParams, ctx: StreamContext<TranscriptionChunk>): Promise<TranscriptionResult> {
    return this.pool.use('speech-to-text', params.model, params.modelPath, (pooled) => this.transcribeWith(pooled, params, ctx));
  }

  private async transcribeWith(pooled: Pooled<'speech-to-text'>, params: TranscriptionParams, ctx: StreamContext<TranscriptionChunk>): Promise<TranscriptionResult> {
    const { tokenizer } = pooled.whisper;
    const language = params.language === undefined ? undefined : languageCode(params.language);
    if (params.language !== undefined && (language === undefined || (tokenizer.special.multilingual && tokenizer.languageToken(language) === undefined))) {
      throw badRequest(`Language "${params.language}" is not one model ${params.model} knows; give an ISO-639-1 code such as "en", or omit it to detect the language`, 'language', 'unsupported_language');
    }
    let samples: Float32Array;
    try {
      samples = await decodeAudioFile(params.audioPath, { signal: ctx.signal });
    } catch (error) {
      if (error instanceof AudioDecodeError) {
        throw badRequest(`${error.message}. Send audio in a format ffmpeg reads: flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav or webm`, 'file', 'invalid_audio');
      }
      throw error;
    }
    const events = transcribe(pooled.whisper, samples, {
      task: params.task,
      // English-only models transcribe English whatever was asked, as mlx_whisper does.
      language: tokenizer.special.multilingual ? language : 'en',
      temperature: params.temperature,
      prompt: params.prompt,
      wordTimestamps: params.wordTimestamps,
      gate: this.scheduler.lane(params.caller),
      signal: ctx.signal,
    });
    for (;;) {
      const next = await events.next();
      if (next.done) {
        const summary = next.value;
        return { language: languageName(summary.language) ?? summary.language, duration: summary.duration, text: summary.text };
      }
      const event = next.value;
      await ctx.send(event.type === 'language' ? { type: 'language', language: languageName(event.language) ?? event.language } : { type: 'segment', segment: toWire(event.segment) });
    }
  }
}
