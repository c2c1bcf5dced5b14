import { Injectable, Logger } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { RequestContext } from '../../common/http/request-context';
import { InferenceGateway } from '../../inference/inference-gateway.service';
import { relayToSse } from '../../inference/sse/relay';
import { SseWriter } from '../../inference/sse/sse-writer';
import { renderAnthropicError } from '../anthropic-error';
import type { AnthropicCountTokensResponseDto, AnthropicMessageDto } from '../dto/message.dto';
import type { AnthropicMessagesPromptDto, AnthropicMessagesRequestDto } from '../dto/messages-request.dto';
import { toGenerationParams, wantsThinking } from './generation-params';
import { AnthropicEventMapper, anthropicId, foldEvents, type AnthropicStreamEvent } from './message-events';

/** Anthropic's Messages API on the one inference path: the request mapped to the worker's chat parameters, its chunks to Anthropic's events. */
@Injectable()
export class AnthropicMessagesService {
  private readonly logger = new Logger(AnthropicMessagesService.name);

  constructor(private readonly gateway: InferenceGateway) {}

  /** The events of the answer, from the first chunk on: everything that can fail with a 4xx has happened when this resolves. */
  private async events(request: AnthropicMessagesRequestDto, context: RequestContext, signal: AbortSignal): Promise<AsyncIterable<AnthropicStreamEvent>> {
    const { stream } = await this.gateway.generateFor(
      'chat.generate',
      { endpoint: 'anthropic.messages', model: request.model, kind: 'chat', context, signal, stream: request.stream === true },
      (model) => toGenerationParams(request, model.path, context.keyName ?? ''),
    );
    const mapper = new AnthropicEventMapper({ id: anthropicId('msg'), model: request.model }, wantsThinking(request));
    return (async function* () {
      for await (const chunk of stream) {
        yield* mapper.map(chunk);
      }
      yield* mapper.end(await stream.result);
    })();
  }

  async create(request: AnthropicMessagesRequestDto, context: RequestContext, signal: AbortSignal): Promise<AnthropicMessageDto> {
    const events: AnthropicStreamEvent[] = [];
    for await (const event of await this.events(request, context, signal)) {
      events.push(event);
    }
    return foldEvents(events);
  }

  /** Server-sent events with an `event:` line each, as Anthropic's SDK requires; a failure mid-stream is an `error` event. */
  async stream(request: AnthropicMessagesRequestDto, context: RequestContext, signal: AbortSignal): Promise<Readable> {
    const events = await this.events(request, context, signal);
    const sse = new SseWriter();
    void relayToSse({ sse, events, write: (writer, event) => writer.sendNamed(event), failure: (error) => renderAnthropicError(error).body, logger: this.logger });
    return sse.body;
  }

  /** The prompt tokens the same request would use: `usage.input_tokens + usage.cache_read_input_tokens`. */
  async countTokens(request: AnthropicMessagesPromptDto, context: RequestContext, signal: AbortSignal): Promise<AnthropicCountTokensResponseDto> {
    const model = await this.gateway.resolve(request.model, 'chat');
    const params = toGenerationParams(request, model.path, context.keyName ?? '');
    const { promptTokens } = await this.gateway.call('chat.count_tokens', params, {
      endpoint: 'anthropic.count_tokens',
      model,
      modelName: request.model,
      context,
      signal,
      prompt: params.messages,
    });
    return { input_tokens: promptTokens };
  }
}
