import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Caller } from '@mlx-omni/api-keys';
import type { FastifyReply } from 'fastify';
import { createReadStream } from 'node:fs';
import { CurrentCaller } from '../auth/current-caller.decorator';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { FileObjectDto } from './dto/file-object.dto';
import { FilesService } from './files.service';

@ApiTags('files')
@Controller('v1/files')
export class FilesController {
  constructor(private readonly files: FilesService) {}

  @Get(':file_id')
  @ApiOperation({ summary: 'A file a job produced (an image, a speech clip): its size, type and expiry' })
  @ApiParam({ name: 'file_id', description: 'The id a job result or an images/speech response named' })
  @ApiOkResponse({ type: FileObjectDto })
  @ApiErrorResponses(401, 403, 404)
  describe(@Param('file_id') id: string, @CurrentCaller() caller: Caller): Promise<FileObjectDto> {
    return this.files.describe(id, caller);
  }

  @Get(':file_id/content')
  @ApiOperation({ summary: "The file's bytes, with its Content-Type" })
  @ApiParam({ name: 'file_id', description: 'The id a job result or an images/speech response named' })
  @ApiOkResponse({
    description: "The file, with the Content-Type it was made as (image/png, audio/mpeg, …)",
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiErrorResponses(401, 403, 404)
  async content(@Param('file_id') id: string, @CurrentCaller() caller: Caller, @Res() reply: FastifyReply): Promise<void> {
    const { ref, path } = await this.files.open(id, caller);
    await reply
      .header('content-type', ref.content_type)
      .header('content-length', String(ref.bytes))
      .header('content-disposition', `inline; filename="${ref.filename}"`)
      .send(createReadStream(path));
  }
}
