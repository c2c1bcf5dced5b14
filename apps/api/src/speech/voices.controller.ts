import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AdminOnly } from '../auth/admin-only.decorator';
import { ApiError } from '../common/errors/api-error';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { VoiceListDto } from './dto/voice-list.dto';
import { VoiceDeletedDto, VoiceResourceDto } from './dto/voice-resource.dto';
import { VoicesService } from './voices.service';

@ApiTags('audio')
@Controller('v1/audio/voices')
export class VoicesController {
  constructor(private readonly voices: VoicesService) {}

  @Get()
  @ApiOperation({ summary: "A speech model's voices: Kokoro's packs (with the OpenAI names that map to them), or the reference voices registered for F5-TTS" })
  @ApiQuery({ name: 'model', description: 'A text-to-speech model id', example: 'mlx-community/Kokoro-82M-bf16' })
  @ApiOkResponse({ type: VoiceListDto })
  @ApiErrorResponses(400, 404)
  list(@Query('model') model: string | undefined): Promise<VoiceListDto> {
    if (model === undefined || model.trim() === '') {
      throw new ApiError(400, 'The query parameter "model" is required: the speech model whose voices to list', { code: 'missing_required_parameter', param: 'model' });
    }
    return this.voices.list(model);
  }

  @Post()
  @HttpCode(200)
  @AdminOnly()
  @ApiOperation({
    summary: 'Register a reference voice (admin)',
    description:
      'F5-TTS speaks in a cloned voice: a 5-15 s clip of it (any format ffmpeg reads, stored as 24 kHz mono) and its transcript, word for word. Speech requests to an F5-TTS model then name it as `voice`.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['name', 'audio_sample', 'transcript'],
      properties: {
        name: { type: 'string', description: '1-64 letters, digits, "_", "." or "-"' },
        audio_sample: { type: 'string', format: 'binary', description: '5 to 15 seconds of the voice' },
        transcript: { type: 'string', description: 'What the clip says' },
      },
    },
  })
  @ApiOkResponse({ type: VoiceResourceDto })
  @ApiErrorResponses(400, 403, 409, 413)
  register(@Req() request: FastifyRequest): Promise<VoiceResourceDto> {
    return this.voices.register(request);
  }

  @Delete(':name')
  @AdminOnly()
  @ApiOperation({ summary: 'Delete a registered reference voice (admin)' })
  @ApiOkResponse({ type: VoiceDeletedDto })
  @ApiErrorResponses(403, 404)
  remove(@Param('name') name: string): Promise<VoiceDeletedDto> {
    return this.voices.remove(name);
  }
}
