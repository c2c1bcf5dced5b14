import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { ChatCompletionChunkDto, ChatCompletionRequestDto, ChatCompletionResponseDto, ChatContentPartDto } from '@mlx-omni/openai-dto';
import { clientGone } from '../../common/http/client-gone';
import { requestContext } from '../../common/http/request-context';
import { ApiErrorResponses } from '../../common/openapi/api-error-responses.decorator';
import { EXAMPLE_CHAT_MODEL } from '../../common/openapi/openapi-document';
import { sseResponse } from '../../inference/sse/relay';
import { ChatService } from './chat.service';

@ApiTags('chat')
@ApiExtraModels(ChatCompletionChunkDto, ChatContentPartDto)
@Controller('v1/chat')
export class ChatController {
  constructor(private readonly chat: ChatService) {}

  @Post('completions')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create a chat completion',
    description: 'With `stream: true` the answer is `text/event-stream`: `data:` lines of chat.completion.chunk objects, then `data: [DONE]`.',
  })
  @ApiOkResponse({
    description: 'A chat.completion object, or a stream of chat.completion.chunk events',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(ChatCompletionResponseDto) } },
      'text/event-stream': { schema: { $ref: getSchemaPath(ChatCompletionChunkDto) } },
    },
  })
  @ApiExtraModels(ChatCompletionResponseDto)
  @ApiBody({
    type: ChatCompletionRequestDto,
    examples: {
      minimal: { summary: 'One user message', value: { model: EXAMPLE_CHAT_MODEL, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 32 } },
    },
  })
  @ApiErrorResponses(400, 404, 503)
  async create(
    @Body() body: ChatCompletionRequestDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatCompletionResponseDto | Readable> {
    const signal = clientGone(reply);
    if (body.stream !== true) {
      return this.chat.complete(body, requestContext(request), signal);
    }
    return sseResponse(reply, await this.chat.stream(body, requestContext(request), signal));
  }
}
