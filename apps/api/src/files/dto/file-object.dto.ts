import { ApiProperty } from '@nestjs/swagger';

/** OpenAI's file object, for a file a long job produced (an image, a speech clip). */
export class FileObjectDto {
  @ApiProperty({ example: 'file-6f1b7f0f9a105f0c6a3e1f4b' })
  id!: string;

  @ApiProperty({ example: 'file' })
  object!: 'file';

  @ApiProperty({ example: 182_311 })
  bytes!: number;

  @ApiProperty({ description: 'Unix seconds' })
  created_at!: number;

  @ApiProperty({ description: 'Unix seconds; the file is deleted then' })
  expires_at!: number;

  @ApiProperty({ example: 'image-0.png' })
  filename!: string;

  @ApiProperty({ example: 'output', description: 'Always `output`: files here are what jobs produced' })
  purpose!: 'output';

  @ApiProperty({ example: 'processed' })
  status!: 'processed';

  @ApiProperty({ example: 'image/png', description: 'The Content-Type `/content` answers with' })
  content_type!: string;
}
