import type { GenerationChunk, GenerationResult } from '@mlx-omni/ipc';
import type {
  CreateResponseRequestDto,
  FunctionCallOutputItem,
  ItemStatus,
  MessageOutputItem,
  OutputTextPart,
  ReasoningOutputItem,
  ReasoningTextPart,
  ResponseObject,
} from '@mlx-omni/openai-dto';
import type { DescribedError } from '../../common/errors/describe-error';
import { unixSeconds } from '../../common/unix-seconds';
import { responsesId, wrapReasoning } from './conversation';

/** One event of a Responses stream; `type` is also its `event:` line, `sequence_number` counts from 0. */
export interface ResponsesStreamEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}

type FinishReason = 'stop' | 'length' | 'tool_calls';

/** The Response object before any output, echoing what the request set (with OpenAI's defaults). */
export function newResponse(request: CreateResponseRequestDto, id: string, previousResponseId: string | null): ResponseObject {
  return {
    id,
    object: 'response',
    created_at: unixSeconds(Date.now()),
    completed_at: null,
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model: request.model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: previousResponseId,
    reasoning: request.reasoning === undefined || request.reasoning === null ? null : { effort: request.reasoning.effort ?? null, summary: null },
    store: request.store ?? true,
    temperature: request.temperature ?? 1,
    top_p: request.top_p ?? 1,
    text: { format: request.text?.format ?? { type: 'text' }, ...(request.text?.verbosity === undefined ? {} : { verbosity: request.text.verbosity }) },
    tool_choice: request.tool_choice ?? ((request.tools ?? []).length > 0 ? 'auto' : 'none'),
    tools: (request.tools ?? []).map((tool) => ({ type: 'function', name: tool.name, description: tool.description ?? null, parameters: tool.parameters ?? null, strict: tool.strict ?? null })),
    truncation: 'disabled',
    background: false,
    metadata: request.metadata ?? {},
  };
}

/**
 * Turns a worker's chat chunks into the Responses stream (created, in_progress, items added with
 * their parts and deltas and closed, then completed or incomplete) while keeping the Response
 * they describe: the non-streamed answer is that Response once the events are through.
 */
export class ResponseEventMapper {
  private sequence = 0;
  private open: { index: number; item: MessageOutputItem | ReasoningOutputItem; part: OutputTextPart | ReasoningTextPart } | undefined;
  private finish: FinishReason = 'stop';

  constructor(
    readonly response: ResponseObject,
    /** include ["reasoning.encrypted_content"]: reasoning items carry it for stateless clients. */
    private readonly wrapsReasoning: boolean,
  ) {}

  start(): ResponsesStreamEvent[] {
    return [this.event('response.created', { response: this.snapshot() }), this.event('response.in_progress', { response: this.snapshot() })];
  }

  map(chunk: GenerationChunk): ResponsesStreamEvent[] {
    switch (chunk.type) {
      case 'prompt':
        return [];
      case 'reasoning':
        return chunk.text === '' ? [] : [...this.ensureOpen('reasoning'), this.delta('response.reasoning_text.delta', chunk.text)];
      case 'content':
        return chunk.text === '' ? [] : [...this.ensureOpen('message'), this.delta('response.output_text.delta', chunk.text, { logprobs: [] })];
      case 'tool_call':
        return [...this.close('completed'), ...this.functionCall(chunk.id, chunk.name, chunk.arguments)];
      case 'finish':
        this.finish = chunk.reason;
        return this.close(chunk.reason === 'length' ? 'incomplete' : 'completed');
    }
  }

  /** The usage and the final status: `incomplete` when max_output_tokens cut the answer. */
  end(result: GenerationResult): ResponsesStreamEvent[] {
    const closing = this.close('completed');
    const incomplete = this.finish === 'length';
    Object.assign(this.response, {
      status: incomplete ? 'incomplete' : 'completed',
      completed_at: incomplete ? null : unixSeconds(Date.now()),
      incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
      usage: {
        input_tokens: result.promptTokens,
        input_tokens_details: { cached_tokens: result.cachedTokens, cache_write_tokens: 0 },
        output_tokens: result.completionTokens,
        output_tokens_details: { reasoning_tokens: result.reasoningTokens },
        total_tokens: result.promptTokens + result.completionTokens,
      },
    });
    return [...closing, this.event(incomplete ? 'response.incomplete' : 'response.completed', { response: this.snapshot() })];
  }

  /** What a failure after the stream started becomes: the Response, failed, with the reason. */
  failed(error: DescribedError): ResponsesStreamEvent {
    Object.assign(this.response, { status: 'failed', error: { code: error.status === 429 ? 'rate_limit_exceeded' : 'server_error', message: error.message } });
    return this.event('response.failed', { response: this.snapshot() });
  }

  private functionCall(callId: string, name: string, args: string): ResponsesStreamEvent[] {
    const item: FunctionCallOutputItem = { type: 'function_call', id: responsesId('fc'), call_id: callId, name, arguments: '', status: 'in_progress' };
    const index = this.response.output.push(item) - 1;
    const added = this.event('response.output_item.added', { output_index: index, item: structuredClone(item) });
    item.arguments = args;
    const delta = this.event('response.function_call_arguments.delta', { item_id: item.id, output_index: index, delta: args });
    const done = this.event('response.function_call_arguments.done', { item_id: item.id, output_index: index, name, arguments: args });
    item.status = 'completed';
    return [added, delta, done, this.event('response.output_item.done', { output_index: index, item: structuredClone(item) })];
  }

  private ensureOpen(type: 'message' | 'reasoning'): ResponsesStreamEvent[] {
    if (this.open?.item.type === type) {
      return [];
    }
    const closing = this.close('completed');
    const item: MessageOutputItem | ReasoningOutputItem =
      type === 'message'
        ? { type: 'message', id: responsesId('msg'), role: 'assistant', status: 'in_progress', content: [] }
        : { type: 'reasoning', id: responsesId('rs'), summary: [], content: [], status: 'in_progress' };
    const index = this.response.output.push(item) - 1;
    const added = this.event('response.output_item.added', { output_index: index, item: structuredClone(item) });
    const part: OutputTextPart | ReasoningTextPart = type === 'message' ? { type: 'output_text', text: '', annotations: [], logprobs: [] } : { type: 'reasoning_text', text: '' };
    (item.content as Array<typeof part>).push(part);
    this.open = { index, item, part };
    return [...closing, added, this.event('response.content_part.added', { item_id: item.id, output_index: index, content_index: 0, part: structuredClone(part) })];
  }

  private delta(type: string, text: string, extra: Record<string, unknown> = {}): ResponsesStreamEvent {
    const open = this.open!;
    open.part.text += text;
    return this.event(type, { item_id: open.item.id, output_index: open.index, content_index: 0, delta: text, ...extra });
  }

  private close(status: ItemStatus): ResponsesStreamEvent[] {
    const open = this.open;
    if (open === undefined) {
      return [];
    }
    this.open = undefined;
    const { index, item, part } = open;
    const where = { item_id: item.id, output_index: index, content_index: 0 };
    const textDone =
      item.type === 'message' ? this.event('response.output_text.done', { ...where, text: part.text, logprobs: [] }) : this.event('response.reasoning_text.done', { ...where, text: part.text });
    const partDone = this.event('response.content_part.done', { ...where, part: structuredClone(part) });
    item.status = status;
    if (item.type === 'reasoning' && this.wrapsReasoning) {
      item.encrypted_content = wrapReasoning(part.text);
    }
    return [textDone, partDone, this.event('response.output_item.done', { output_index: index, item: structuredClone(item) })];
  }

  private event(type: string, fields: Record<string, unknown>): ResponsesStreamEvent {
    return { type, sequence_number: this.sequence++, ...fields };
  }

  private snapshot(): ResponseObject {
    return structuredClone(this.response);
  }
}
