import type { TranscriptionResult, WireSegment } from '@mlx-omni/ipc';
import type { AudioResponseFormat, TranscriptionResponseDto, TranscriptionVerboseResponseDto } from '@mlx-omni/openai-dto';

export interface Transcript {
  task: 'transcribe' | 'translate';
  result: TranscriptionResult;
  segments: WireSegment[];
  /** Which of segments and words the client asked for (timestamp_granularities; segments by default). */
  granularities: { segment: boolean; word: boolean };
}

/** `HH:MM:SS,mmm` (SRT) or `[HH:]MM:SS.mmm` (WebVTT), as openai/whisper's writers format times. */
function timestamp(seconds: number, format: 'srt' | 'vtt'): string {
  let ms = Math.round(Math.max(0, seconds) * 1000);
  const hours = Math.floor(ms / 3_600_000);
  ms -= hours * 3_600_000;
  const minutes = Math.floor(ms / 60_000);
  ms -= minutes * 60_000;
  const secs = Math.floor(ms / 1000);
  ms -= secs * 1000;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const hoursPart = format === 'srt' || hours > 0 ? `${pad(hours)}:` : '';
  return `${hoursPart}${pad(minutes)}:${pad(secs)}${format === 'srt' ? ',' : '.'}${pad(ms, 3)}`;
}

/** A cue's text: one line, and never the cue arrow, which would end the timing line early. */
const cueText = (text: string) => text.trim().replace(/-->/g, '->');

export function toSrt(segments: readonly WireSegment[]): string {
  return segments.map((segment, i) => `${i + 1}\n${timestamp(segment.start, 'srt')} --> ${timestamp(segment.end, 'srt')}\n${cueText(segment.text)}\n`).join('\n');
}

export function toVtt(segments: readonly WireSegment[]): string {
  return `WEBVTT\n\n${segments.map((segment) => `${timestamp(segment.start, 'vtt')} --> ${timestamp(segment.end, 'vtt')}\n${cueText(segment.text)}\n`).join('\n')}`;
}

const usageOf = (duration: number) => ({ type: 'duration' as const, seconds: Math.ceil(duration) });

export function toJson(transcript: Transcript): TranscriptionResponseDto {
  return { text: transcript.result.text, usage: usageOf(transcript.result.duration) };
}

export function toVerboseJson({ task, result, segments, granularities }: Transcript): TranscriptionVerboseResponseDto {
  return {
    task,
    language: task === 'translate' ? 'english' : result.language,
    duration: result.duration,
    text: result.text,
    ...(granularities.segment ? { segments: segments.map(({ words: _words, ...segment }) => segment) } : {}),
    ...(granularities.word ? { words: segments.flatMap((segment) => (segment.words ?? []).map(({ word, start, end }) => ({ word, start, end }))) } : {}),
    usage: usageOf(result.duration),
  };
}

/** The response body and its content type for a response_format. */
export function render(format: AudioResponseFormat, transcript: Transcript): { contentType: string; body: string | object } {
  switch (format) {
    case 'json':
      return { contentType: 'application/json', body: toJson(transcript) };
    case 'verbose_json':
      return { contentType: 'application/json', body: toVerboseJson(transcript) };
    case 'text':
      return { contentType: 'text/plain; charset=utf-8', body: `${transcript.result.text}\n` };
    case 'srt':
      return { contentType: 'application/x-subrip; charset=utf-8', body: toSrt(transcript.segments) };
    case 'vtt':
      return { contentType: 'text/vtt; charset=utf-8', body: toVtt(transcript.segments) };
  }
}
