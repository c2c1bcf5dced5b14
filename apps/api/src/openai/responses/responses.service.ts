import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Caller } from '@mlx-omni/api-keys';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type { CreateResponseRequestDto, ResponseDeletedDto, ResponseItemListDto, ResponseObject } from '@mlx-omni/openai-dto';
import type { Readable } from 'node:stream';
import { ApiError } from '../../common/errors/api-error';
import type { RequestContext } from '../../common/http/request-context';
import { InferenceGateway } from '../../inference/inference-gateway.service';
import { relayToSse } from '../../inference/sse/relay';
import { SseWriter } from '../../inference/sse/sse-writer';
import { responsesId, toChatMessages, toStoredItems } from './conversation';
import { toGenerationParams } from './generation-params';
import type { InputItemsQueryDto } from './input-items-query.dto';
import { newResponse, ResponseEventMapper, type ResponsesStreamEvent } from './response-events';
import { ResponsesStore } from './responses.store';

const DEFAULT_PAGE = 20;

/** OpenAI's Responses API on the one inference path, with responses stored in Redis for GET and chaining. */
@Injectable()
export class ResponsesService {
  private readonly logger = new Logger(ResponsesService.name);

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly gateway: InferenceGateway,
    private readonly store: ResponsesStore,
  ) {}

  /** The mapper and its events from the first chunk on: everything that can fail with a 4xx has happened when this resolves. */
  private async run(request: CreateResponseRequestDto, caller: Caller, context: RequestContext, signal: AbortSignal) {
    const previousId = request.previous_response_id ?? null;
    const previous = previousId === null ? undefined : await this.store.find(previousId, caller, 'previous_response_id');
    const history = previous === undefined ? [] : [...previous.conversation, ...previous.response.output];
    const conversation = [...history, ...toStoredItems(request.input)];
    const { stream } = await this.gateway.generateFor(
      'chat.generate',
      { endpoint: 'responses', model: request.model, kind: 'chat', context, signal, stream: request.stream === true },
      (model) => toGenerationParams(request, toChatMessages(conversation), model.path, context.keyName ?? '', this.config.defaultMaxTokens),
    );
    const mapper = new ResponseEventMapper(newResponse(request, responsesId('resp'), previousId), request.include?.includes('reasoning.encrypted_content') === true);
    const store = this.store;
    const owner = context.keyName;
    async function* events(): AsyncGenerator<ResponsesStreamEvent> {
      yield* mapper.start();
      for await (const chunk of stream) {
        yield* mapper.map(chunk);
      }
      const last = mapper.end(await stream.result);
      // Stored before the final event, so a client that saw it can fetch or chain the response at once.
      if (mapper.response.store) {
        await store.save({ owner, response: mapper.response, conversation, inputStart: history.length });
      }
      yield* last;
    }
    return { mapper, events: events() };
  }

  async create(request: CreateResponseRequestDto, caller: Caller, context: RequestContext, signal: AbortSignal): Promise<ResponseObject> {
    const { mapper, events } = await this.run(request, caller, context, signal);
    for await (const event of events) {
      void event;
    }
    return mapper.response;
  }

  /** Named events, each with its `sequence_number`; a failure mid-stream is `response.failed`. */
  async stream(request: CreateResponseRequestDto, caller: Caller, context: RequestContext, signal: AbortSignal): Promise<Readable> {
    const { mapper, events } = await this.run(request, caller, context, signal);
    const sse = new SseWriter();
    void relayToSse({ sse, events, write: (writer, event) => writer.sendNamed(event), failure: (error) => mapper.failed(error), logger: this.logger });
    return sse.body;
  }

  async retrieve(id: string, caller: Caller): Promise<ResponseObject> {
    return (await this.store.find(id, caller)).response;
  }

  async delete(id: string, caller: Caller): Promise<ResponseDeletedDto> {
    await this.store.delete(id, caller);
    return { id, object: 'response', deleted: true };
  }

  /** The items the request that made the response sent (not the earlier ones it chained to), newest first by default. */
  async inputItems(id: string, caller: Caller, { order = 'desc', limit = DEFAULT_PAGE, after }: InputItemsQueryDto): Promise<ResponseItemListDto> {
    const stored = await this.store.find(id, caller);
    const items = stored.conversation.slice(stored.inputStart);
    const ordered = order === 'asc' ? items : [...items].reverse();
    let start = 0;
    if (after !== undefined) {
      start = ordered.findIndex((item) => item.id === after) + 1;
      if (start === 0) {
        throw new ApiError(400, `after "${after}" is not an input item of response ${id}`, { param: 'after', code: 'invalid_value' });
      }
    }
    const page = ordered.slice(start, start + limit);
    return { object: 'list', data: page, first_id: page[0]?.id ?? null, last_id: page[page.length - 1]?.id ?? null, has_more: start + limit < ordered.length };
  }
}
