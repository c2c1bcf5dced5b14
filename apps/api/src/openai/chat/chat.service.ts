import { Inject, Injectable, Logger } from '@nestjs/common';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type { ChatCompletionRequestDto, ChatCompletionResponseDto } from '@mlx-omni/openai-dto';
import type { Readable } from 'node:stream';
import type { RequestContext } from '../../common/http/request-context';
import { InferenceGateway } from '../../inference/inference-gateway.service';
import { newCompletionIdentity } from '../shared/completion-object';
import { openAiEventStream } from '../shared/openai-sse';
import { ChatCompletionAssembler, ChatCompletionChunker } from './completion-assembler';
import { toGenerationParams } from './generation-params';

/** OpenAI's chat completions: the request mapped to the worker's chat parameters, its chunks to OpenAI's objects. */
@Injectable()
export class ChatService {
  private readonly logger = new Logger(ChatService.name);

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly gateway: InferenceGateway,
  ) {}

  /** Everything that can fail with a 4xx happens here, before any byte of a stream is sent. */
  private async start(request: ChatCompletionRequestDto, context: RequestContext, signal: AbortSignal) {
    const { params, stream } = await this.gateway.generateFor(
      'chat.generate',
      { endpoint: 'chat', model: request.model, kind: 'chat', context, signal, stream: request.stream === true },
      (model) => toGenerationParams(request, model.path, context.keyName ?? '', this.config.defaultMaxTokens),
    );
    return { identity: newCompletionIdentity('chatcmpl', request.model), params, stream };
  }

  async complete(request: ChatCompletionRequestDto, context: RequestContext, signal: AbortSignal): Promise<ChatCompletionResponseDto> {
    const { identity, params, stream } = await this.start(request, context, signal);
    const assembler = new ChatCompletionAssembler(params.n, params.logprobs);
    for await (const chunk of stream) {
      assembler.add(chunk);
    }
    return assembler.build(identity, await stream.result);
  }

  /** Server-sent events: a role chunk first, deltas, a usage chunk when asked for, then `[DONE]`. */
  async stream(request: ChatCompletionRequestDto, context: RequestContext, signal: AbortSignal): Promise<Readable> {
    const { identity, stream } = await this.start(request, context, signal);
    const includeUsage = request.stream_options?.include_usage === true;
    const chunker = new ChatCompletionChunker(identity, includeUsage);
    return openAiEventStream(stream, { map: (chunk) => chunker.map(chunk), usage: includeUsage ? (result) => chunker.usageChunk(result) : undefined }, this.logger);
  }
}
