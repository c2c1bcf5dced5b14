import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { clientGone } from '../../common/http/client-gone';
import { requestContext } from '../../common/http/request-context';
import { sseResponse } from '../../inference/sse/relay';
import { AnthropicErrorResponses } from '../anthropic-error-responses.decorator';
import {
  AnthropicContentBlockDto,
  AnthropicMediaBlockDto,
  AnthropicRedactedThinkingBlockDto,
  AnthropicTextBlockDto,
  AnthropicThinkingBlockDto,
  AnthropicToolResultBlockDto,
  AnthropicToolResultContentBlockDto,
  AnthropicToolUseBlockDto,
} from '../dto/content-blocks.dto';
import { AnthropicCountTokensResponseDto, AnthropicMessageDto } from '../dto/message.dto';
import { AnthropicMessagesPromptDto, AnthropicMessagesRequestDto } from '../dto/messages-request.dto';
import { AnthropicMessagesService } from './messages.service';

/**
 * `POST /anthropic/v1/messages` for `@anthropic-ai/sdk` and Claude Code with `baseURL: http://host:10240/anthropic`.
 * `?beta=true`, `anthropic-version` and `anthropic-beta` are accepted whatever their value.
 */
@ApiTags('anthropic')
@ApiExtraModels(
  AnthropicContentBlockDto,
  AnthropicTextBlockDto,
  AnthropicMediaBlockDto,
  AnthropicToolUseBlockDto,
  AnthropicToolResultBlockDto,
  AnthropicToolResultContentBlockDto,
  AnthropicThinkingBlockDto,
  AnthropicRedactedThinkingBlockDto,
)
@Controller('anthropic/v1/messages')
export class AnthropicMessagesController {
  constructor(private readonly messages: AnthropicMessagesService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create a message (Anthropic Messages API)',
    description:
      'With `stream: true` the answer is `text/event-stream` of named events: message_start, content_block_start / _delta / _stop per block, message_delta, message_stop. Errors use Anthropic\'s envelope.',
  })
  @ApiOkResponse({
    description: 'A message, or a stream of events',
    content: { 'application/json': { schema: { $ref: getSchemaPath(AnthropicMessageDto) } }, 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiExtraModels(AnthropicMessageDto)
  @AnthropicErrorResponses(400, 401, 404, 413, 429, 529)
  async create(
    @Body() body: AnthropicMessagesRequestDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AnthropicMessageDto | Readable> {
    const signal = clientGone(reply);
    if (body.stream !== true) {
      return this.messages.create(body, requestContext(request), signal);
    }
    return sseResponse(reply, await this.messages.stream(body, requestContext(request), signal));
  }

  @Post('count_tokens')
  @HttpCode(200)
  @ApiOperation({ summary: 'Count the input tokens of a message request, as its usage would report them' })
  @ApiOkResponse({ type: AnthropicCountTokensResponseDto })
  @AnthropicErrorResponses(400, 401, 404, 413, 429, 529)
  countTokens(@Body() body: AnthropicMessagesPromptDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<AnthropicCountTokensResponseDto> {
    return this.messages.countTokens(body, requestContext(request), clientGone(reply));
  }
}
