import { Inject, Injectable, Logger } from '@nestjs/common';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type { ChatGenerationParams } from '@mlx-omni/ipc';
import type { ChatCompletionRequestDto, ChatCompletionResponseDto } from '@mlx-omni/openai-dto';
import type { RequestContext } from '../common/http/request-context';
import type { SseWriter } from '../common/http/sse-writer';
import { relayToSse, type GenerationStream } from '../common/http/stream-to-sse';
import { InferenceMetricsService } from '../metrics/inference-metrics.service';
import { ModelsService } from '../models/models.service';
import { RateLimitService } from '../rate-limits/rate-limit.service';
import { WorkerRegistryService } from '../workers/worker-registry.service';
import { newCompletionIdentity, type CompletionIdentity } from '../common/generation/completion-object';
import { ChatCompletionAssembler, ChatCompletionChunker } from './completion-assembler';
import { toGenerationParams } from './generation-params';

/** Runs chat completions on a worker over the direct IPC channel; tokens never pass through Redis. */
@Injectable()
export class ChatService {
  private readonly logger = new Logger(ChatService.name);

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly models: ModelsService,
    private readonly workers: WorkerRegistryService,
    private readonly inference: InferenceMetricsService,
    private readonly rateLimits: RateLimitService,
  ) {}

  /** Everything that can fail with a 4xx happens here, before any byte of a stream is sent. */
  private async start(
    request: ChatCompletionRequestDto,
    context: RequestContext,
    signal: AbortSignal,
  ): Promise<{ identity: CompletionIdentity; params: ChatGenerationParams; stream: GenerationStream }> {
    const model = await this.models.resolveFor(request.model, 'chat');
    const params = toGenerationParams(request, model.path, context.keyName ?? '', this.config.defaultMaxTokens);
    const { client } = this.workers.pick(model.id);
    const identity = newCompletionIdentity('chatcmpl', request.model);
    const stream = this.inference.track(client.stream('chat.generate', params, { signal }), {
      context,
      model: request.model,
      endpoint: 'chat',
      stream: request.stream === true,
      prompt: params.messages,
    });
    this.rateLimits.chargeGeneratedTokens(stream.result);
    return { identity, params, stream };
  }

  async complete(request: ChatCompletionRequestDto, context: RequestContext, signal: AbortSignal): Promise<ChatCompletionResponseDto> {
    const { identity, params, stream } = await this.start(request, context, signal);
    const assembler = new ChatCompletionAssembler(params.n, params.logprobs);
    for await (const chunk of stream) {
      assembler.add(chunk);
    }
    return assembler.build(identity, await stream.result);
  }

  /** Streams as server-sent events: a role chunk first, deltas, a usage chunk when asked for, then `[DONE]`. */
  async stream(
    request: ChatCompletionRequestDto,
    context: RequestContext,
    sse: SseWriter,
    signal: AbortSignal,
    takeOverResponse: () => void,
  ): Promise<void> {
    const { identity, stream } = await this.start(request, context, signal);
    const includeUsage = request.stream_options?.include_usage === true;
    const chunker = new ChatCompletionChunker(identity, includeUsage);
    await relayToSse({
      stream,
      sse,
      headers: { 'x-request-id': context.requestId },
      takeOverResponse,
      map: (chunk) => chunker.map(chunk),
      finish: (result) => (includeUsage ? [chunker.usageChunk(result)] : []),
      logger: this.logger,
    });
  }
}
