import { Injectable, Logger } from '@nestjs/common';
import type { TextGenerationParams } from '@mlx-omni/ipc';
import type { CompletionRequestDto, CompletionResponseDto } from '@mlx-omni/openai-dto';
import type { Readable } from 'node:stream';
import { ApiError } from '../../common/errors/api-error';
import type { RequestContext } from '../../common/http/request-context';
import { InferenceGateway } from '../../inference/inference-gateway.service';
import { newCompletionIdentity } from '../shared/completion-object';
import { openAiEventStream } from '../shared/openai-sse';
import { toSamplingOptions, toStopSequences } from '../shared/sampling';
import { TextCompletionBuilder } from './text-completion-builder';

/** OpenAI's default for the legacy endpoint, unlike chat's "whatever fits". */
const DEFAULT_MAX_TOKENS = 16;

function invalid(param: string, message: string): ApiError {
  return new ApiError(400, message, { param, code: 'invalid_value' });
}

/** Legacy /v1/completions: a raw prompt (text or token ids), no chat template. */
@Injectable()
export class CompletionsService {
  private readonly logger = new Logger(CompletionsService.name);

  constructor(private readonly gateway: InferenceGateway) {}

  private async start(request: CompletionRequestDto, context: RequestContext, signal: AbortSignal) {
    if (request.suffix !== undefined && request.suffix !== '') {
      throw invalid('suffix', 'suffix (fill-in-the-middle) is not supported by this server');
    }
    const n = request.n ?? 1;
    if (request.best_of !== undefined && request.best_of !== 1 && request.best_of !== n) {
      throw invalid('best_of', 'best_of other than n is not supported: candidates are not ranked');
    }
    const prompt = request.prompt;
    // One token-id list is one prompt; a list of strings or of id lists is several.
    const prompts = typeof prompt === 'string' || typeof prompt[0] === 'number' ? [prompt as string | number[]] : (prompt as Array<string | number[]>);
    const { stream } = await this.gateway.generateFor(
      'text.generate',
      { endpoint: 'completions', model: request.model, kind: 'chat', context, signal, stream: request.stream === true },
      (model): TextGenerationParams => ({
        model: request.model,
        caller: context.keyName ?? '',
        modelPath: model.path,
        prompts,
        n,
        maxTokens: request.max_tokens ?? DEFAULT_MAX_TOKENS,
        stop: toStopSequences(request),
        sampling: toSamplingOptions(request),
        topLogprobs: request.logprobs,
        echo: request.echo ?? false,
      }),
    );
    const builder = new TextCompletionBuilder(newCompletionIdentity('cmpl', request.model), request.logprobs !== undefined);
    return { builder, stream };
  }

  async complete(request: CompletionRequestDto, context: RequestContext, signal: AbortSignal): Promise<CompletionResponseDto> {
    const { builder, stream } = await this.start(request, context, signal);
    for await (const chunk of stream) {
      builder.add(chunk);
    }
    return builder.build(await stream.result);
  }

  async stream(request: CompletionRequestDto, context: RequestContext, signal: AbortSignal): Promise<Readable> {
    const { builder, stream } = await this.start(request, context, signal);
    const includeUsage = request.stream_options?.include_usage === true;
    return openAiEventStream(stream, { map: (chunk) => [builder.streamChunk(chunk)], usage: includeUsage ? (result) => builder.usageChunk(result) : undefined }, this.logger);
  }
}
