import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Caller } from '@mlx-omni/api-keys';
import { CreateResponseRequestDto, ResponseContentPartDto, ResponseDeletedDto, ResponseInputItemDto, ResponseItemListDto, ResponseObjectDto, type ResponseObject } from '@mlx-omni/openai-dto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { CurrentCaller } from '../../auth/current-caller.decorator';
import { clientGone } from '../../common/http/client-gone';
import { requestContext } from '../../common/http/request-context';
import { ApiErrorResponses } from '../../common/openapi/api-error-responses.decorator';
import { sseResponse } from '../../inference/sse/relay';
import { InputItemsQueryDto } from './input-items-query.dto';
import { ResponsesService } from './responses.service';

@ApiTags('responses')
@ApiExtraModels(ResponseInputItemDto, ResponseContentPartDto)
@Controller('v1/responses')
export class ResponsesController {
  constructor(private readonly responses: ResponsesService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create a model response (OpenAI Responses API)',
    description:
      'With `stream: true` the answer is `text/event-stream` of named events (response.created … response.completed), each with a `sequence_number`. Stored (store: true, the default) for MLX_OMNI_RESPONSES_TTL_S.',
  })
  @ApiOkResponse({
    description: 'A response object, or a stream of events',
    content: { 'application/json': { schema: { $ref: getSchemaPath(ResponseObjectDto) } }, 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiExtraModels(ResponseObjectDto)
  @ApiErrorResponses(400, 401, 404, 429, 503)
  async create(
    @Body() body: CreateResponseRequestDto,
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseObject | Readable> {
    const signal = clientGone(reply);
    if (body.stream !== true) {
      return this.responses.create(body, caller, requestContext(request), signal);
    }
    return sseResponse(reply, await this.responses.stream(body, caller, requestContext(request), signal));
  }

  @Get(':id')
  @ApiOperation({ summary: 'A stored response' })
  @ApiOkResponse({ type: ResponseObjectDto })
  @ApiErrorResponses(401, 404, 503)
  retrieve(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<ResponseObject> {
    return this.responses.retrieve(id, caller);
  }

  @Get(':id/input_items')
  @ApiOperation({ summary: 'The input items of a stored response, newest first by default' })
  @ApiOkResponse({ type: ResponseItemListDto })
  @ApiErrorResponses(400, 401, 404, 503)
  inputItems(@Param('id') id: string, @Query() query: InputItemsQueryDto, @CurrentCaller() caller: Caller): Promise<ResponseItemListDto> {
    return this.responses.inputItems(id, caller, query);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a stored response' })
  @ApiOkResponse({ type: ResponseDeletedDto })
  @ApiErrorResponses(401, 404, 503)
  delete(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<ResponseDeletedDto> {
    return this.responses.delete(id, caller);
  }
}
