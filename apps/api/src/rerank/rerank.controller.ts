import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RerankRequestDto, RerankResponseDto } from '@mlx-omni/openai-dto';
import { clientGone } from '../common/http/client-gone';
import { requestContext } from '../common/http/request-context';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { RerankService } from './rerank.service';

@ApiTags('rerank')
@Controller('v1/rerank')
export class RerankController {
  constructor(private readonly reranker: RerankService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Rerank documents by relevance to a query',
    description:
      'Jina/Cohere-compatible. Models: cross-encoders (BERT / XLM-RoBERTa *ForSequenceClassification: ms-marco-MiniLM, bge-reranker) and Qwen3-Reranker. Results are sorted, most relevant first.',
  })
  @ApiOkResponse({ type: RerankResponseDto })
  @ApiErrorResponses(400, 404, 503)
  rerank(@Body() body: RerankRequestDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<RerankResponseDto> {
    return this.reranker.rerank(body, requestContext(request), clientGone(reply));
  }
}
