import { Injectable, Logger } from '@nestjs/common';
import type { TextGenerationParams } from '@mlx-omni/ipc';
import type { CompletionRequestDto, CompletionResponseDto } from '@mlx-omni/openai-dto';
import { OpenAiHttpException } from '../common/errors/openai-http.exception';
import { newCompletionIdentity } from '../common/generation/completion-object';
import { toSamplingOptions, toStopSequences } from '../common/generation/sampling';
import type { RequestContext } from '../common/http/request-context';
import type { SseWriter } from '../common/http/sse-writer';
import { relayToSse } from '../common/http/stream-to-sse';
import { InferenceMetricsService } from '../metrics/inference-metrics.service';
import { ModelsService } from '../models/models.service';
import { RateLimitService } from '../rate-limits/rate-limit.service';
import { WorkerRegistryService } from '../workers/worker-registry.service';
import { TextCompletionBuilder } from './text-completion-builder';

/** OpenAI's default for the legacy endpoint, unlike chat's "whatever fits". */
const DEFAULT_MAX_TOKENS = 16;

function invalid(param: string, message: string): OpenAiHttpException {
  return new OpenAiHttpException(400, message, { param, code: 'invalid_value' });
}

/** Legacy /v1/completions: a raw prompt (text or token ids), no chat template. */
@Injectable()
export class CompletionsService {
  private readonly logger = new Logger(CompletionsService.name);

  constructor(
    private readonly models: ModelsService,
    private readonly workers: WorkerRegistryService,
    private readonly inference: InferenceMetricsService,
    private readonly rateLimits: RateLimitService,
  ) {}

  private async start(request: CompletionRequestDto, context: RequestContext, signal: AbortSignal) {
    if (request.suffix !== undefined && request.suffix !== '') {
      throw invalid('suffix', 'suffix (fill-in-the-middle) is not supported by this server');
    }
    const n = request.n ?? 1;
    if (request.best_of !== undefined && request.best_of !== 1 && request.best_of !== n) {
      throw invalid('best_of', 'best_of other than n is not supported: candidates are not ranked');
    }
    const model = await this.models.resolveFor(request.model, 'chat');
    const prompt = request.prompt;
    // One token-id list is one prompt; a list of strings or of id lists is several.
    const prompts = typeof prompt === 'string' || typeof prompt[0] === 'number' ? [prompt as string | number[]] : (prompt as Array<string | number[]>);
    const params: TextGenerationParams = {
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
    };
    const { client } = this.workers.pick(model.id);
    const builder = new TextCompletionBuilder(
      newCompletionIdentity('cmpl', request.model),
      request.logprobs !== undefined,
    );
    const stream = this.inference.track(client.stream('text.generate', params, { signal }), {
      context,
      model: request.model,
      endpoint: 'completions',
      stream: request.stream === true,
      prompt: prompts,
    });
    this.rateLimits.chargeGeneratedTokens(stream.result);
    return { builder, stream };
  }

  async complete(request: CompletionRequestDto, context: RequestContext, signal: AbortSignal): Promise<CompletionResponseDto> {
    const { builder, stream } = await this.start(request, context, signal);
    for await (const chunk of stream) {
      builder.add(chunk);
    }
    return builder.build(await stream.result);
  }

  async stream(
    request: CompletionRequestDto,
    context: RequestContext,
    sse: SseWriter,
    signal: AbortSignal,
    takeOverResponse: () => void,
  ): Promise<void> {
    const { builder, stream } = await this.start(request, context, signal);
    const includeUsage = request.stream_options?.include_usage === true;
    await relayToSse({
      stream,
      sse,
      headers: { 'x-request-id': context.requestId },
      takeOverResponse,
      map: (chunk) => [builder.streamChunk(chunk)],
      finish: (result) => (includeUsage ? [builder.usageChunk(result)] : []),
      logger: this.logger,
    });
  }
}
