import { Injectable } from '@nestjs/common';
import type { EmbeddingParams } from '@mlx-omni/ipc';
import type { EmbeddingRequestDto, EmbeddingResponseDto } from '@mlx-omni/openai-dto';
import type { RequestContext } from '../common/http/request-context';
import { InferenceGateway } from '../inference/inference-gateway.service';

/** The float32 little-endian bytes of a vector, as the worker sends them, back to numbers. */
function toFloats(base64: string): number[] {
  const bytes = Buffer.from(base64, 'base64');
  return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
}

/** /v1/embeddings: resolve the model, let a worker embed every input, answer in OpenAI's shape. */
@Injectable()
export class EmbeddingsService {
  constructor(private readonly gateway: InferenceGateway) {}

  async create(request: EmbeddingRequestDto, context: RequestContext, signal: AbortSignal): Promise<EmbeddingResponseDto> {
    const model = await this.gateway.resolve(request.model, 'embedding');
    const input = request.input;
    // One token-id list is one input; a list of strings or of id lists is several.
    const inputs = typeof input === 'string' || typeof input[0] === 'number' ? [input as string | number[]] : (input as Array<string | number[]>);
    const params: EmbeddingParams = { model: request.model, caller: context.keyName ?? '', modelPath: model.path, inputs, dimensions: request.dimensions };
    const result = await this.gateway.call(
      'embeddings.create',
      params,
      { endpoint: 'embeddings', model, modelName: request.model, context, signal },
      { read: { inputs: inputs.length, tokensOf: (embedded) => embedded.promptTokens } },
    );
    const base64 = request.encoding_format === 'base64';
    return {
      object: 'list',
      data: result.embeddings.map((vector, index) => ({ object: 'embedding', index, embedding: base64 ? vector : toFloats(vector) })),
      model: request.model,
      usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
    };
  }
}
