import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CreateSpeechRequestDto } from '@mlx-omni/openai-dto';
import { clientGone } from '../common/http/client-gone';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { sseResponse } from '../inference/sse/relay';
import { JobResponseDto } from '../jobs/dto/job-response.dto';
import { SpeechService } from './speech.service';

@ApiTags('audio')
@Controller('v1/audio')
export class SpeechController {
  constructor(private readonly speech: SpeechService) {}

  @Post('speech')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create speech from text',
    description:
      'Runs as a speech job on a worker. mp3, opus, aac and pcm are sent as they are synthesised; wav and flac (whose headers state the length) once complete. `stream_format: "sse"` sends speech.audio.delta events (base64 audio) and speech.audio.done. A job still queued after MLX_OMNI_JOB_WAIT_S answers 202 with the job to poll; its result names the file (GET /v1/files/{id}/content) and the phonemes of each chunk.',
  })
  @ApiOkResponse({
    description: 'The audio file, 24 kHz mono, or its SSE events',
    content: {
      'audio/mpeg': { schema: { type: 'string', format: 'binary' } },
      'audio/ogg': { schema: { type: 'string', format: 'binary' } },
      'audio/aac': { schema: { type: 'string', format: 'binary' } },
      'audio/flac': { schema: { type: 'string', format: 'binary' } },
      'audio/wav': { schema: { type: 'string', format: 'binary' } },
      'audio/pcm': { schema: { type: 'string', format: 'binary' } },
      'text/event-stream': { schema: { type: 'string' } },
    },
  })
  @ApiAcceptedResponse({ type: JobResponseDto, description: 'Still queued; poll GET /v1/jobs/{id}' })
  @ApiErrorResponses(400, 404, 503)
  async create(@Body() body: CreateSpeechRequestDto, @Res() reply: FastifyReply): Promise<void> {
    const signal = clientGone(reply);
    const started = await this.speech.start(body);
    if (started.kind === 'pending') {
      await reply.status(202).send(started.job);
      return;
    }
    if (body.stream_format === 'sse') {
      const events = await this.speech.events(started, signal);
      await reply.headers(events.headers).send(sseResponse(reply, events.body));
      return;
    }
    // The audio is written to the socket as it is read; Fastify must not answer on its own.
    reply.hijack();
    await this.speech.send(started, reply.raw, signal);
  }
}
