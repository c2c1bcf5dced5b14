import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Max, Min } from 'class-validator';
import { IsTextOrTokenIds } from '../common/union-validators';
import { SamplingParametersDto } from '../chat/chat-completion-request.dto';

export type CompletionPrompt = string | string[] | number[] | number[][];

export class CompletionRequestDto extends SamplingParametersDto {
  @ApiProperty({ example: 'mlx-community/Llama-3.2-1B-Instruct-4bit' })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @ApiProperty({
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'string' } },
      { type: 'array', items: { type: 'integer' } },
      { type: 'array', items: { type: 'array', items: { type: 'integer' } } },
    ],
  })
  @IsTextOrTokenIds()
  prompt!: CompletionPrompt;

  /** Not supported: fill-in-the-middle needs model-specific tokens; a non-empty suffix answers 400. */
  @IsOptional()
  @IsString()
  suffix?: string;

  /** Return the prompt before the completion. */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  echo?: boolean;

  /** Alternatives per token to report with the chosen token’s logprob. */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(5)
  logprobs?: number;

  /** Only best_of equal to n (or 1) is accepted: ranking candidates is not supported. */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(16)
  best_of?: number;
}
