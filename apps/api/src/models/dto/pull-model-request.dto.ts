import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class PullModelRequestDto {
  @ApiProperty({ example: 'mlx-community/Qwen3-4B-4bit', description: 'The repo id on the Hugging Face Hub' })
  @IsString()
  @MaxLength(200)
  model!: string;

  @ApiPropertyOptional({ example: 'main', default: 'main', description: 'A branch, tag or commit' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.\/-]{1,200}$/, { message: 'revision must be a branch, tag or commit' })
  revision: string = 'main';
}
