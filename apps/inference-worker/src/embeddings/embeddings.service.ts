import { Injectable } from '@nestjs/common';
import { IpcHandlerError, type EmbeddingParams, type EmbeddingResult, type HandlerContext, type RerankParams, type RerankResult } from '@mlx-omni/ipc';
import { EmbeddingInputError, FairStepScheduler } from '@mlx-omni/mlx-native';
import { ModelPoolService } from '../models/model-pool.service';

/** A model-input problem the engine found becomes the 400 the client must fix; anything else propagates. */
async function asBadRequest<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof EmbeddingInputError) {
      throw new IpcHandlerError({ message: error.message, code: error.code, status: 400, param: error.param });
    }
    throw error;
  }
}

/**
 * /v1/embeddings and /v1/rerank on this worker: tokenize, then run the model in padded batches,
 * each batch one turn of the worker's fair scheduler, so chat streams keep their share of the device.
 */
@Injectable()
export class EmbeddingsService {
  constructor(
    private readonly pool: ModelPoolService,
    private readonly scheduler: FairStepScheduler,
  ) {}

  create(params: EmbeddingParams, ctx: HandlerContext): Promise<EmbeddingResult> {
    return this.pool.use('embedding', params.model, params.modelPath, ({ embedder }) =>
      asBadRequest(async () => {
        const sequences = embedder.tokenize(params.inputs);
        const vectors = await embedder.embed(sequences, { dimensions: params.dimensions, gate: this.scheduler.lane(params.caller), signal: ctx.signal });
        return {
          embeddings: vectors.map((vector) => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64')),
          promptTokens: sequences.reduce((sum, ids) => sum + ids.length, 0),
        };
      }),
    );
  }

  rerank(params: RerankParams, ctx: HandlerContext): Promise<RerankResult> {
    return this.pool.use('rerank', params.model, params.modelPath, ({ reranker }) =>
      asBadRequest(async () => {
        const pairs = reranker.tokenize(params.query, params.documents);
        const scores = await reranker.score(pairs, { gate: this.scheduler.lane(params.caller), signal: ctx.signal });
        return { scores, promptTokens: pairs.reduce((sum, pair) => sum + pair.ids.length, 0) };
      }),
    );
  }
}
