import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { CompletionRequestDto, CompletionResponseDto } from '@mlx-omni/openai-dto';
import { clientGone } from '../../common/http/client-gone';
import { requestContext } from '../../common/http/request-context';
import { ApiErrorResponses } from '../../common/openapi/api-error-responses.decorator';
import { EXAMPLE_CHAT_MODEL } from '../../common/openapi/openapi-document';
import { sseResponse } from '../../inference/sse/relay';
import { CompletionsService } from './completions.service';

@ApiTags('completions')
@Controller('v1/completions')
export class CompletionsController {
  constructor(private readonly completions: CompletionsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create a (legacy) text completion',
    description: 'The prompt goes to the model without a chat template. With `stream: true`: `text/event-stream` of text_completion objects, then `data: [DONE]`.',
  })
  @ApiOkResponse({ type: CompletionResponseDto })
  @ApiBody({
    type: CompletionRequestDto,
    examples: { minimal: { summary: 'A text prompt', value: { model: EXAMPLE_CHAT_MODEL, prompt: 'Once upon a time', max_tokens: 16 } } },
  })
  @ApiErrorResponses(400, 404, 503)
  async create(
    @Body() body: CompletionRequestDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CompletionResponseDto | Readable> {
    const signal = clientGone(reply);
    if (body.stream !== true) {
      return this.completions.complete(body, requestContext(request), signal);
    }
    return sseResponse(reply, await this.completions.stream(body, requestContext(request), signal));
  }
}
