import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import {
  TranscriptionRequestDto,
  TranscriptionResponseDto,
  TranscriptionVerboseResponseDto,
  TranscriptTextDeltaEventDto,
  TranscriptTextDoneEventDto,
  TranslationRequestDto,
} from '@mlx-omni/openai-dto';
import { clientGone } from '../common/http/client-gone';
import { requestContext } from '../common/http/request-context';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { sseResponse } from '../inference/sse/relay';
import { AudioService, type AudioTask } from './audio.service';

const RESPONSE_CONTENT = {
  'application/json': { schema: { oneOf: [{ $ref: getSchemaPath(TranscriptionResponseDto) }, { $ref: getSchemaPath(TranscriptionVerboseResponseDto) }] } },
  'text/plain': { schema: { type: 'string', description: 'response_format text' } },
  'application/x-subrip': { schema: { type: 'string', description: 'response_format srt' } },
  'text/vtt': { schema: { type: 'string', description: 'response_format vtt' } },
};

@ApiTags('audio')
@ApiExtraModels(TranscriptionResponseDto, TranscriptionVerboseResponseDto, TranscriptTextDeltaEventDto, TranscriptTextDoneEventDto)
@Controller('v1/audio')
export class AudioController {
  constructor(private readonly audio: AudioService) {}

  @Post('transcriptions')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Transcribe audio (Whisper)',
    description: 'With `stream=true` the answer is `text/event-stream`: a `transcript.text.delta` event per decoded segment, then `transcript.text.done`.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: TranscriptionRequestDto })
  @ApiOkResponse({
    description: 'The transcript in the requested response_format, or a stream of transcript events',
    content: { ...RESPONSE_CONTENT, 'text/event-stream': { schema: { oneOf: [{ $ref: getSchemaPath(TranscriptTextDeltaEventDto) }, { $ref: getSchemaPath(TranscriptTextDoneEventDto) }] } } },
  })
  @ApiErrorResponses(400, 404, 413, 503)
  transcribe(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<string | object | Readable> {
    return this.run('transcribe', request, reply);
  }

  @Post('translations')
  @HttpCode(200)
  @ApiOperation({ summary: 'Translate audio into English text (Whisper)' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: TranslationRequestDto })
  @ApiOkResponse({ description: 'The English transcript in the requested response_format', content: RESPONSE_CONTENT })
  @ApiErrorResponses(400, 404, 413, 503)
  translate(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<string | object | Readable> {
    return this.run('translate', request, reply);
  }

  private async run(task: AudioTask, request: FastifyRequest, reply: FastifyReply): Promise<string | object | Readable> {
    const answer = await this.audio.handle(task, request, requestContext(request), clientGone(reply));
    if ('stream' in answer) {
      return sseResponse(reply, answer.stream);
    }
    void reply.header('content-type', answer.contentType);
    return answer.body;
  }
}
