import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayUnique, IsArray, IsBoolean, IsIn, IsNotEmpty, IsNumber, IsOptional, IsString, Max, Min } from 'class-validator';

export const AUDIO_RESPONSE_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt'] as const;
export type AudioResponseFormat = (typeof AUDIO_RESPONSE_FORMATS)[number];

export const TIMESTAMP_GRANULARITIES = ['word', 'segment'] as const;
export type TimestampGranularity = (typeof TIMESTAMP_GRANULARITIES)[number];

/** Multipart fields arrive as strings; numbers and booleans are parsed here so validation sees their real type. */
const toNumber = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value);
const toBoolean = ({ value }: { value: unknown }): unknown => (value === 'true' ? true : value === 'false' ? false : value);
const toList = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? [value] : value);

/**
 * OpenAI's CreateTranslationRequest, the multipart fields besides `file` (which arrives as an
 * upload). Unknown fields are ignored, as for every OpenAI route here.
 */
export class TranslationRequestDto {
  @ApiProperty({ type: 'string', format: 'binary', description: 'The audio: flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, webm, or anything else ffmpeg decodes' })
  file?: unknown;

  @ApiProperty({ example: 'mlx-community/whisper-large-v3-turbo', description: 'A Whisper model in the Hugging Face cache (mlx-community layout)' })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @ApiPropertyOptional({ description: 'Text the first window is conditioned on: spellings, names, style' })
  @IsOptional()
  @IsString()
  prompt?: string;

  @ApiPropertyOptional({ enum: AUDIO_RESPONSE_FORMATS, default: 'json' })
  @IsOptional()
  @IsIn(AUDIO_RESPONSE_FORMATS)
  response_format?: AudioResponseFormat;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    description: 'One decoding pass at this temperature (0: greedy). Omitted: mlx_whisper’s fallback schedule 0, 0.2 … 1.0, retried per window while the text looks repetitive or improbable',
  })
  @IsOptional()
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(1)
  temperature?: number;
}

/** OpenAI's CreateTranscriptionRequest (the Whisper-relevant fields). */
export class TranscriptionRequestDto extends TranslationRequestDto {
  @ApiPropertyOptional({ example: 'en', description: 'ISO-639-1 code (or English name) of the spoken language; detected from the first 30 seconds when omitted' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  language?: string;

  @ApiPropertyOptional({
    type: [String],
    enum: TIMESTAMP_GRANULARITIES,
    description: 'With response_format verbose_json: `word` adds word timestamps (cross-attention alignment), `segment` keeps the segments',
  })
  @IsOptional()
  @Transform(toList)
  @IsArray()
  @ArrayUnique()
  @IsIn(TIMESTAMP_GRANULARITIES, { each: true })
  timestamp_granularities?: TimestampGranularity[];

  @ApiPropertyOptional({ default: false, description: 'Server-sent `transcript.text.delta` events as segments are decoded, then `transcript.text.done`' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  stream?: boolean;
}
