import type { GenerationChunk, GenerationResult, WireTokenLogprob } from '@mlx-omni/ipc';
import type {
  ChatCompletionChoiceDto,
  ChatCompletionChunkChoiceDto,
  ChatCompletionChunkDto,
  ChatCompletionResponseDto,
  ChatFinishReason,
} from '@mlx-omni/openai-dto';
import { SYSTEM_FINGERPRINT, toUsage, type CompletionIdentity } from '../shared/completion-object';

interface ChoiceState {
  content: string;
  reasoning: string;
  toolCalls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  logprobs: WireTokenLogprob[];
  finishReason: ChatFinishReason;
}

/** Folds a worker's chunk stream into one `chat.completion` object. */
export class ChatCompletionAssembler {
  private readonly choices: ChoiceState[];

  constructor(
    choiceCount: number,
    private readonly wantLogprobs: boolean,
  ) {
    this.choices = Array.from({ length: choiceCount }, () => ({ content: '', reasoning: '', toolCalls: [], logprobs: [], finishReason: 'stop' }));
  }

  add(chunk: GenerationChunk): void {
    const choice = this.choices[chunk.choice];
    switch (chunk.type) {
      case 'prompt':
        // OpenAI reports the prompt's size in `usage` only.
        break;
      case 'content':
        choice.content += chunk.text;
        choice.logprobs.push(...(chunk.logprobs ?? []));
        break;
      case 'reasoning':
        choice.reasoning += chunk.text;
        break;
      case 'tool_call':
        choice.toolCalls.push({ id: chunk.id, type: 'function', function: { name: chunk.name, arguments: chunk.arguments } });
        break;
      case 'finish':
        choice.finishReason = chunk.reason;
        break;
    }
  }

  build(identity: CompletionIdentity, result: GenerationResult): ChatCompletionResponseDto {
    return {
      id: identity.id,
      object: 'chat.completion',
      created: identity.created,
      model: identity.model,
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices: this.choices.map((choice, index): ChatCompletionChoiceDto => ({
        index,
        message: {
          role: 'assistant',
          // OpenAI sends null, not '', when a turn only calls tools.
          content: choice.content === '' && choice.toolCalls.length > 0 ? null : choice.content,
          refusal: null,
          ...(choice.toolCalls.length > 0 ? { tool_calls: choice.toolCalls } : {}),
          ...(choice.reasoning === '' ? {} : { reasoning_content: choice.reasoning, reasoning: choice.reasoning }),
        },
        finish_reason: choice.finishReason,
        logprobs: this.wantLogprobs ? { content: choice.logprobs, refusal: null } : null,
      })),
      usage: toUsage(result),
    };
  }
}

/** Turns a worker's chunks into OpenAI stream chunks: a role chunk first per choice, then deltas. */
export class ChatCompletionChunker {
  private readonly started = new Set<number>();
  private readonly toolCallCount = new Map<number, number>();

  constructor(
    private readonly identity: CompletionIdentity,
    private readonly includeUsage: boolean,
  ) {}

  private chunk(choices: ChatCompletionChunkChoiceDto[]): ChatCompletionChunkDto {
    return {
      id: this.identity.id,
      object: 'chat.completion.chunk',
      created: this.identity.created,
      model: this.identity.model,
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices,
      // With include_usage, OpenAI puts `usage: null` on every chunk but the last.
      ...(this.includeUsage ? { usage: null } : {}),
    };
  }

  /** The chunks to send for one worker chunk (a tool call becomes a name delta, then an arguments delta). */
  map(chunk: GenerationChunk): ChatCompletionChunkDto[] {
    if (chunk.type === 'prompt') {
      return [];
    }
    const out: ChatCompletionChunkDto[] = [];
    const index = chunk.choice;
    if (!this.started.has(index)) {
      this.started.add(index);
      out.push(this.chunk([{ index, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }]));
    }
    switch (chunk.type) {
      case 'content':
        out.push(
          this.chunk([
            { index, delta: { content: chunk.text }, finish_reason: null, logprobs: chunk.logprobs === undefined ? null : { content: chunk.logprobs, refusal: null } },
          ]),
        );
        break;
      case 'reasoning':
        out.push(this.chunk([{ index, delta: { reasoning_content: chunk.text, reasoning: chunk.text }, finish_reason: null, logprobs: null }]));
        break;
      case 'tool_call': {
        const callIndex = this.toolCallCount.get(index) ?? 0;
        this.toolCallCount.set(index, callIndex + 1);
        out.push(
          this.chunk([
            {
              index,
              delta: { tool_calls: [{ index: callIndex, id: chunk.id, type: 'function', function: { name: chunk.name, arguments: '' } }] },
              finish_reason: null,
              logprobs: null,
            },
          ]),
          this.chunk([{ index, delta: { tool_calls: [{ index: callIndex, function: { arguments: chunk.arguments } }] }, finish_reason: null, logprobs: null }]),
        );
        break;
      }
      case 'finish':
        out.push(this.chunk([{ index, delta: {}, finish_reason: chunk.reason, logprobs: null }]));
        break;
    }
    return out;
  }

  usageChunk(result: GenerationResult): ChatCompletionChunkDto {
    return { ...this.chunk([]), usage: toUsage(result) };
  }
}
