import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** OpenAI's TranscriptTextUsageDuration: what a Whisper request is measured in. */
export class TranscriptionUsageDto {
  @ApiProperty({ enum: ['duration'] })
  type!: 'duration';

  @ApiProperty({ description: 'Seconds of input audio, rounded up' })
  seconds!: number;
}

export class TranscriptionWordDto {
  @ApiProperty()
  word!: string;

  @ApiProperty({ format: 'double' })
  start!: number;

  @ApiProperty({ format: 'double' })
  end!: number;
}

export class TranscriptionSegmentDto {
  @ApiProperty()
  id!: number;

  @ApiProperty({ description: 'First mel frame (10 ms) of the 30-second window the segment was decoded in' })
  seek!: number;

  @ApiProperty({ format: 'double' })
  start!: number;

  @ApiProperty({ format: 'double' })
  end!: number;

  @ApiProperty()
  text!: string;

  @ApiProperty({ type: [Number], description: 'Token ids, timestamps included' })
  tokens!: number[];

  @ApiProperty()
  temperature!: number;

  @ApiProperty()
  avg_logprob!: number;

  @ApiProperty()
  compression_ratio!: number;

  @ApiProperty()
  no_speech_prob!: number;
}

/** response_format json: CreateTranscriptionResponseJson / CreateTranslationResponseJson. */
export class TranscriptionResponseDto {
  @ApiProperty()
  text!: string;

  @ApiPropertyOptional({ type: TranscriptionUsageDto })
  usage?: TranscriptionUsageDto;
}

/** response_format verbose_json: CreateTranscriptionResponseVerboseJson. */
export class TranscriptionVerboseResponseDto {
  @ApiProperty({ enum: ['transcribe', 'translate'] })
  task!: 'transcribe' | 'translate';

  @ApiProperty({ example: 'english', description: 'The spoken language (transcriptions) or english (translations)' })
  language!: string;

  @ApiProperty({ description: 'Seconds of audio' })
  duration!: number;

  @ApiProperty()
  text!: string;

  @ApiPropertyOptional({ type: [TranscriptionSegmentDto] })
  segments?: TranscriptionSegmentDto[];

  @ApiPropertyOptional({ type: [TranscriptionWordDto], description: 'With timestamp_granularities[]=word' })
  words?: TranscriptionWordDto[];

  @ApiPropertyOptional({ type: TranscriptionUsageDto })
  usage?: TranscriptionUsageDto;
}

/** stream=true: TranscriptTextDeltaEvent, one per decoded segment. */
export class TranscriptTextDeltaEventDto {
  @ApiProperty({ enum: ['transcript.text.delta'] })
  type!: 'transcript.text.delta';

  @ApiProperty()
  delta!: string;
}

/** stream=true: TranscriptTextDoneEvent, last. */
export class TranscriptTextDoneEventDto {
  @ApiProperty({ enum: ['transcript.text.done'] })
  type!: 'transcript.text.done';

  @ApiProperty()
  text!: string;
}
