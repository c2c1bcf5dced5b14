import { ApiProperty } from '@nestjs/swagger';

export class EmbeddingObjectDto {
  @ApiProperty({ enum: ['embedding'] })
  object!: 'embedding';

  @ApiProperty()
  index!: number;

  @ApiProperty({
    oneOf: [{ type: 'array', items: { type: 'number' } }, { type: 'string', description: 'encoding_format base64: float32 little-endian bytes' }],
  })
  embedding!: number[] | string;
}

export class EmbeddingUsageDto {
  @ApiProperty({ description: "Tokens of every input, the model's special tokens included" })
  prompt_tokens!: number;

  @ApiProperty()
  total_tokens!: number;
}

/** OpenAI's CreateEmbeddingResponse. */
export class EmbeddingResponseDto {
  @ApiProperty({ enum: ['list'] })
  object!: 'list';

  @ApiProperty({ type: [EmbeddingObjectDto] })
  data!: EmbeddingObjectDto[];

  @ApiProperty()
  model!: string;

  @ApiProperty({ type: EmbeddingUsageDto })
  usage!: EmbeddingUsageDto;
}
