import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class VoiceDto {
  @ApiProperty({ example: 'af_heart' })
  id!: string;

  @ApiProperty({ example: 'voice' })
  object!: 'voice';

  @ApiPropertyOptional({ example: 'alloy', description: 'The OpenAI voice name that maps to this voice, if any' })
  openai_name?: string;

  @ApiPropertyOptional({ description: 'A registered reference voice (cloned by F5-TTS): what its clip says' })
  transcript?: string;

  @ApiPropertyOptional({ description: "A registered reference voice: its clip's length" })
  duration_seconds?: number;

  @ApiPropertyOptional({ description: 'A registered reference voice: when it was registered, Unix seconds' })
  created_at?: number;
}

/** `GET /v1/audio/voices?model=`: the voices a speech model can speak in (Kokoro's packs, or the reference voices registered for F5-TTS). */
export class VoiceListDto {
  @ApiProperty({ example: 'list' })
  object!: 'list';

  @ApiProperty({ example: 'mlx-community/Kokoro-82M-bf16' })
  model!: string;

  @ApiProperty({ type: [VoiceDto] })
  data!: VoiceDto[];
}
