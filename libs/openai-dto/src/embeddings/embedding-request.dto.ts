import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Min } from 'class-validator';
import { IsTextOrTokenIds } from '../common/union-validators';

/** Inputs one request may carry, as OpenAI bounds them. */
export const MAX_EMBEDDING_INPUTS = 2048;

export type EmbeddingInput = string | string[] | number[] | number[][];

/** OpenAI's CreateEmbeddingRequest. */
export class EmbeddingRequestDto {
  @ApiProperty({ example: 'mlx-community/all-MiniLM-L6-v2-4bit' })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @ApiProperty({
    description: `Text or token ids to embed: one string, up to ${MAX_EMBEDDING_INPUTS} strings, one token-id array or up to ${MAX_EMBEDDING_INPUTS} of them. Texts are tokenized with the model's special tokens; token ids are used exactly as given. An input longer than the model takes answers 400 (nothing is truncated).`,
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: MAX_EMBEDDING_INPUTS },
      { type: 'array', items: { type: 'integer' }, minItems: 1, maxItems: MAX_EMBEDDING_INPUTS },
      { type: 'array', items: { type: 'array', items: { type: 'integer' }, minItems: 1 }, minItems: 1, maxItems: MAX_EMBEDDING_INPUTS },
    ],
  })
  @IsTextOrTokenIds({ maxItems: MAX_EMBEDDING_INPUTS, nonEmptyText: true })
  input!: EmbeddingInput;

  @ApiPropertyOptional({ enum: ['float', 'base64'], default: 'float', description: 'base64: the float32 little-endian bytes of each vector' })
  @IsOptional()
  @IsIn(['float', 'base64'])
  encoding_format?: 'float' | 'base64';

  @ApiPropertyOptional({ minimum: 1, description: 'A shorter, renormalized vector: only for models trained for it (Matryoshka, e.g. Qwen3-Embedding); 400 otherwise' })
  @IsOptional()
  @IsInt()
  @Min(1)
  dimensions?: number;

  @ApiPropertyOptional({ description: 'Accepted for compatibility; not used' })
  @IsOptional()
  @IsString()
  user?: string;
}
