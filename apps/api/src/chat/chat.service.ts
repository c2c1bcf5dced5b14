import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ChatGenerationChunk, ChatGenerationParams, ChatGenerationResult, IpcStream } from '@mlx-omni/ipc';
import type { ChatCompletionRequestDto, ChatCompletionResponseDto } from '@mlx-omni/openai-dto';
import { toErrorResponse } from '../common/errors/error-response';
import { SseWriter } from '../common/http/sse-writer';
import { ModelsService } from '../models/models.service';
import { WorkerRegistryService } from '../workers/worker-registry.service';
import { ChatCompletionAssembler, ChatCompletionChunker, type CompletionIdentity } from './completion-assembler';
import { toGenerationParams } from './generation-params';

/** Runs chat completions on a worker over the direct IPC channel; tokens never pass through Redis. */
@Injectable()
export class ChatService {
  private readonly logger = new Logger(ChatService.name);

  constructor(
    private readonly models: ModelsService,
    private readonly workers: WorkerRegistryService,
  ) {}

  /** Everything that can fail with a 4xx happens here, before any byte of a stream is sent. */
  private async start(
    request: ChatCompletionRequestDto,
    signal: AbortSignal,
  ): Promise<{ identity: CompletionIdentity; params: ChatGenerationParams; stream: IpcStream<ChatGenerationChunk, ChatGenerationResult> }> {
    const model = await this.models.resolveForChat(request.model);
    const params = toGenerationParams(request, model.path);
    const { client } = this.workers.pick(model.id);
    const identity = { id: `chatcmpl-${randomUUID().replace(/-/g, '')}`, created: Math.floor(Date.now() / 1000), model: request.model };
    return { identity, params, stream: client.stream('chat.generate', params, { signal }) };
  }

  async complete(request: ChatCompletionRequestDto, signal: AbortSignal): Promise<ChatCompletionResponseDto> {
    const { identity, params, stream } = await this.start(request, signal);
    const assembler = new ChatCompletionAssembler(params.n, params.logprobs);
    for await (const chunk of stream) {
      assembler.add(chunk);
    }
    return assembler.build(identity, await stream.result);
  }

  /**
   * Streams as server-sent events. The first worker chunk is awaited before the headers go out, so
   * a request the worker refuses (context too long, unsupported format) still gets a proper 4xx.
   */
  async stream(
    request: ChatCompletionRequestDto,
    sse: SseWriter,
    signal: AbortSignal,
    headers: Record<string, string>,
    takeOverResponse: () => void,
  ): Promise<void> {
    const { identity, stream } = await this.start(request, signal);
    const chunker = new ChatCompletionChunker(identity, request.stream_options?.include_usage === true);
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    takeOverResponse();
    sse.open(headers);
    try {
      for (let step = first; !step.done; step = await iterator.next()) {
        for (const chunk of chunker.map(step.value)) {
          await sse.send(chunk);
        }
        if (sse.isClosed) {
          // The client left: returning the iterator cancels the worker's generation.
          await iterator.return?.();
          return;
        }
      }
      const result = await stream.result;
      if (request.stream_options?.include_usage === true) {
        await sse.send(chunker.usageChunk(result));
      }
      await sse.send('[DONE]');
    } catch (error) {
      // Headers are out: the failure travels as an error event in the stream, then the stream ends.
      this.logger.warn({ err: error, completionId: identity.id }, 'Chat stream ended with an error');
      await sse.send(toErrorResponse(error).body);
    } finally {
      sse.end();
    }
  }
}
