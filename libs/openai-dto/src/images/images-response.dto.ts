import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ImageDto {
  @ApiPropertyOptional({ description: 'The image, base64-encoded (response_format b64_json)' })
  b64_json?: string;

  @ApiPropertyOptional({ format: 'uri', description: 'Where this server serves the image (response_format url), until the file expires' })
  url?: string;

  @ApiPropertyOptional({ description: 'Local extension: the seed this image was drawn from' })
  seed?: number;
}

/** OpenAI's ImagesResponse. */
export class ImagesResponseDto {
  @ApiProperty({ description: 'Unix seconds' })
  created!: number;

  @ApiProperty({ type: [ImageDto] })
  data!: ImageDto[];

  @ApiPropertyOptional({ enum: ['png', 'webp', 'jpeg'] })
  output_format?: 'png' | 'webp' | 'jpeg';
}
