import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsNumber, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export const IMAGE_RESPONSE_FORMATS = ['url', 'b64_json'] as const;
export const IMAGE_OUTPUT_FORMATS = ['png', 'jpeg', 'webp'] as const;
export const IMAGE_QUALITIES = ['standard', 'hd', 'low', 'medium', 'high', 'auto'] as const;
export const IMAGE_STYLES = ['vivid', 'natural'] as const;

/** OpenAI's CreateImageRequest, plus the local FLUX knobs `seed`, `steps` and `guidance`. */
export class CreateImageRequestDto {
  @ApiProperty({ example: 'A cute baby sea otter', maxLength: 32000 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(32000)
  prompt!: string;

  @ApiProperty({ example: 'argmaxinc/mlx-FLUX.1-schnell', description: 'An image model in the cache (`/v1/models`, kind `image`)' })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 10, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  n?: number;

  @ApiPropertyOptional({
    example: '1024x1024',
    default: 'auto',
    description: "`WIDTHxHEIGHT`, each a multiple of 16 from 64 to 2048 (OpenAI's named sizes included); `auto` is 1024x1024",
  })
  @IsOptional()
  @IsString()
  size?: string;

  @ApiPropertyOptional({ enum: IMAGE_RESPONSE_FORMATS, default: 'url', description: '`url`: served by this server at /v1/files/{id}/content until it expires' })
  @IsOptional()
  @IsIn(IMAGE_RESPONSE_FORMATS)
  response_format?: (typeof IMAGE_RESPONSE_FORMATS)[number];

  @ApiPropertyOptional({ enum: IMAGE_OUTPUT_FORMATS, default: 'png' })
  @IsOptional()
  @IsIn(IMAGE_OUTPUT_FORMATS)
  output_format?: (typeof IMAGE_OUTPUT_FORMATS)[number];

  @ApiPropertyOptional({ minimum: 0, maximum: 100, default: 100, description: 'Quality of jpeg and webp output (100 is lossless webp)' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  output_compression?: number;

  @ApiPropertyOptional({ enum: IMAGE_QUALITIES, description: 'Accepted for compatibility; FLUX has no quality setting (use `steps`)' })
  @IsOptional()
  @IsIn(IMAGE_QUALITIES)
  quality?: string;

  @ApiPropertyOptional({ enum: IMAGE_STYLES, description: 'Accepted for compatibility; it does not change the picture' })
  @IsOptional()
  @IsIn(IMAGE_STYLES)
  style?: string;

  @ApiPropertyOptional({ description: 'Accepted for compatibility (end-user id)' })
  @IsOptional()
  @IsString()
  user?: string;

  @ApiPropertyOptional({ default: false, description: 'Streaming partial images is not supported; `true` answers 400' })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "Local extension: image i uses seed + i, drawn as mflux draws its noise (the same seed gives mflux's picture); random when absent" })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER - 10)
  seed?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, description: 'Local extension: denoising steps (schnell 4, dev 25 by default)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  steps?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 30, description: 'Local extension: FLUX.1-dev guidance scale (default 3.5); schnell has none and ignores it' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(30)
  guidance?: number;

  @ApiPropertyOptional({ description: 'Not supported by FLUX.1 (guidance-distilled, no classifier-free guidance); any value answers 400' })
  @IsOptional()
  negative_prompt?: unknown;
}
