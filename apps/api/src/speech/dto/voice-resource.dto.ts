import { ApiProperty } from '@nestjs/swagger';

/** OpenAI's voice object (`POST /v1/audio/voices`), with what a cloning model is conditioned on. */
export class VoiceResourceDto {
  @ApiProperty({ example: 'audio.voice' })
  object!: 'audio.voice';

  @ApiProperty({ example: 'narrator', description: 'What `voice` names it by in speech requests: its name' })
  id!: string;

  @ApiProperty({ example: 'narrator' })
  name!: string;

  @ApiProperty({ description: 'Unix seconds' })
  created_at!: number;

  @ApiProperty({ example: 'Some call me nature, others call me mother nature.' })
  transcript!: string;

  @ApiProperty({ example: 6.2 })
  duration_seconds!: number;
}

export class VoiceDeletedDto {
  @ApiProperty({ example: 'narrator' })
  id!: string;

  @ApiProperty({ example: 'audio.voice' })
  object!: 'audio.voice';

  @ApiProperty({ example: true })
  deleted!: true;
}
