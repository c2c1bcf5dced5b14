import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class VoiceDto {
  @ApiProperty({ example: 'af_heart' })
  id!: string;

  @ApiProperty({ example: 'voice' })
  object!: 'voice';

  @ApiPropertyOptional({ example: 'alloy', description: 'The OpenAI voice name that maps to this voice, if any' })
  openai_name?: string;
}

/** `GET /v1/audio/voices?model=`: the voices a speech model can speak in. */
export class VoiceListDto {
  @ApiProperty({ example: 'list' })
  object!: 'list';

  @ApiProperty({ example: 'mlx-community/Kokoro-82M-bf16' })
  model!: string;

  @ApiProperty({ type: [VoiceDto] })
  data!: VoiceDto[];
}
