import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EmbeddingRequestDto, EmbeddingResponseDto } from '@mlx-omni/openai-dto';
import { clientGone } from '../common/http/client-gone';
import { requestContext } from '../common/http/request-context';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { EmbeddingsService } from './embeddings.service';

@ApiTags('embeddings')
@Controller('v1/embeddings')
export class EmbeddingsController {
  constructor(private readonly embeddings: EmbeddingsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create embeddings',
    description:
      "One vector per input, pooled and normalized as the model's sentence-transformers files say. Models: BERT (all-MiniLM, bge, e5, gte), XLM-RoBERTa (multilingual-e5, bge-m3), ModernBERT, Qwen3-Embedding.",
  })
  @ApiOkResponse({ type: EmbeddingResponseDto })
  @ApiErrorResponses(400, 404, 503)
  create(@Body() body: EmbeddingRequestDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<EmbeddingResponseDto> {
    return this.embeddings.create(body, requestContext(request), clientGone(reply));
  }
}
