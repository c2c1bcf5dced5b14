import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsNotEmpty, IsNumber, IsOptional, IsString, Max, MaxLength, Min, ValidateBy } from 'class-validator';

/** OpenAI's `response_format`s for speech. */
export const SPEECH_RESPONSE_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] as const;
export type SpeechResponseFormat = (typeof SPEECH_RESPONSE_FORMATS)[number];

export const SPEECH_STREAM_FORMATS = ['audio', 'sse'] as const;
export type SpeechStreamFormat = (typeof SPEECH_STREAM_FORMATS)[number];

/** OpenAI's cap on `input`. */
export const SPEECH_INPUT_MAX_CHARACTERS = 4096;

export type SpeechVoice = string | { id: string };

/** `voice`: a name, or OpenAI's custom-voice object `{ "id": … }`. */
function IsVoice(): PropertyDecorator {
  return ValidateBy({
    name: 'isVoice',
    validator: {
      validate: (value: unknown) =>
        (typeof value === 'string' && value.trim() !== '') ||
        (typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.keys(value).length === 1 &&
          typeof (value as { id?: unknown }).id === 'string' &&
          (value as { id: string }).id.trim() !== ''),
      defaultMessage: () => '$property must be a voice name or an object {"id": "<voice>"}',
    },
  });
}

/** Text that is not only whitespace: an input with nothing to say is a client error, not silence. */
function HasText(): PropertyDecorator {
  return ValidateBy({
    name: 'hasText',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && value.trim() !== '',
      defaultMessage: () => '$property must contain text to speak',
    },
  });
}

/** OpenAI's CreateSpeechRequest, plus `seed`. */
export class CreateSpeechRequestDto {
  @ApiProperty({ example: 'mlx-community/Kokoro-82M-bf16' })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @ApiProperty({ maxLength: SPEECH_INPUT_MAX_CHARACTERS, description: 'The text to speak, 1 to 4,096 characters' })
  @IsString()
  @HasText()
  @MaxLength(SPEECH_INPUT_MAX_CHARACTERS)
  input!: string;

  @ApiProperty({
    description:
      "One of the model's voices (GET /v1/audio/voices?model=…), or an OpenAI voice name where the model has a counterpart (alloy → af_alloy, echo → am_echo, fable → bm_fable, onyx → am_onyx, nova → af_nova); `{\"id\": …}` is accepted too",
    oneOf: [{ type: 'string' }, { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }],
    example: 'af_heart',
  })
  @IsVoice()
  voice!: SpeechVoice;

  @ApiPropertyOptional({ maxLength: 4096, description: 'Accepted for compatibility and ignored (the response says so in x-mlx-omni-ignored-parameters): Kokoro takes no instructions' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  instructions?: string;

  @ApiPropertyOptional({ enum: SPEECH_RESPONSE_FORMATS, default: 'mp3' })
  @IsOptional()
  @IsIn(SPEECH_RESPONSE_FORMATS)
  response_format?: SpeechResponseFormat;

  @ApiPropertyOptional({ minimum: 0.25, maximum: 4, default: 1, description: 'Kokoro divides its predicted durations by it' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.25)
  @Max(4)
  speed?: number;

  @ApiPropertyOptional({ enum: SPEECH_STREAM_FORMATS, default: 'audio', description: '`audio`: the file, sent as it is synthesised; `sse`: speech.audio.delta events with base64 audio, then speech.audio.done' })
  @IsOptional()
  @IsIn(SPEECH_STREAM_FORMATS)
  stream_format?: SpeechStreamFormat;

  @ApiPropertyOptional({ minimum: 0, maximum: 2 ** 31 - 1, default: 0, description: 'Extension: seeds the vocoder’s random source, so the same request gives the same audio' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  seed?: number;
}
