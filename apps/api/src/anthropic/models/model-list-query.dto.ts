import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

export class AnthropicModelListQueryDto {
  @ApiPropertyOptional({ description: 'The page after this model id' })
  @IsOptional()
  @IsString()
  after_id?: string;

  @ApiPropertyOptional({ description: 'The page before this model id' })
  @IsOptional()
  @IsString()
  before_id?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
