import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export class SelfTestRequestDto {
  @ApiPropertyOptional({ minimum: 16, maximum: 2048, default: 512, description: 'Square matrix size to multiply' })
  @IsOptional()
  @IsInt()
  @Min(16)
  @Max(2048)
  size: number = 512;

  @ApiPropertyOptional({ minimum: 0, maximum: 60, default: 30, description: 'Seconds to wait for the result before answering 202 with the job' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60)
  wait_seconds: number = 30;
}
