import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { RerankRequestDto, RerankResponseDto } from '@mlx-omni/openai-dto';
import type { RequestContext } from '../common/http/request-context';
import { InferenceMetricsService } from '../metrics/inference-metrics.service';
import { ModelsService } from '../models/models.service';
import { RateLimitService } from '../rate-limits/rate-limit.service';
import { WorkerRegistryService } from '../workers/worker-registry.service';

/** /v1/rerank (Jina/Cohere shape): a worker scores every document, the best come first. */
@Injectable()
export class RerankService {
  constructor(
    private readonly models: ModelsService,
    private readonly workers: WorkerRegistryService,
    private readonly inference: InferenceMetricsService,
    private readonly rateLimits: RateLimitService,
  ) {}

  async rerank(request: RerankRequestDto, context: RequestContext, signal: AbortSignal): Promise<RerankResponseDto> {
    const model = await this.models.resolveFor(request.model, 'rerank');
    const { client } = this.workers.pick(model.id);
    const params = { model: request.model, caller: context.keyName ?? '', modelPath: model.path, query: request.query, documents: request.documents };
    const work = this.inference.trackRequest(client.call('rerank', params, { signal }), {
      context,
      model: request.model,
      endpoint: 'rerank',
      inputs: request.documents.length,
      tokensOf: (result) => result.promptTokens,
    });
    this.rateLimits.chargeTokens(work, (result) => result.promptTokens);
    const { scores, promptTokens } = await work;
    const withDocuments = request.return_documents ?? true;
    const results = scores
      .map((relevance_score, index) => ({ index, relevance_score, ...(withDocuments ? { document: { text: request.documents[index] } } : {}) }))
      // Ties keep the documents' order.
      .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index)
      .slice(0, request.top_n ?? scores.length);
    return { id: `rerank-${randomUUID()}`, model: request.model, results, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } };
  }
}
