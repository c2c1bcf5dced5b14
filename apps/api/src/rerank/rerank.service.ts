import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { RerankRequestDto, RerankResponseDto } from '@mlx-omni/openai-dto';
import type { RequestContext } from '../common/http/request-context';
import { InferenceGateway } from '../inference/inference-gateway.service';

/** /v1/rerank (Jina/Cohere shape): a worker scores every document, the best come first. */
@Injectable()
export class RerankService {
  constructor(private readonly gateway: InferenceGateway) {}

  async rerank(request: RerankRequestDto, context: RequestContext, signal: AbortSignal): Promise<RerankResponseDto> {
    const model = await this.gateway.resolve(request.model, 'rerank');
    const params = { model: request.model, caller: context.keyName ?? '', modelPath: model.path, query: request.query, documents: request.documents };
    const { scores, promptTokens } = await this.gateway.call(
      'rerank',
      params,
      { endpoint: 'rerank', model, modelName: request.model, context, signal },
      { read: { inputs: request.documents.length, tokensOf: (scored) => scored.promptTokens } },
    );
    const withDocuments = request.return_documents ?? true;
    const results = scores
      .map((relevance_score, index) => ({ index, relevance_score, ...(withDocuments ? { document: { text: request.documents[index] } } : {}) }))
      // Ties keep the documents' order.
      .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index)
      .slice(0, request.top_n ?? scores.length);
    return { id: `rerank-${randomUUID()}`, model: request.model, results, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } };
  }
}
