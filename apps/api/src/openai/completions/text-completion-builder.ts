import type { GenerationChunk, GenerationResult, WirePromptLogprob, WireTokenLogprob } from '@mlx-omni/ipc';
import type { CompletionChoiceDto, CompletionLogprobsDto, CompletionResponseDto } from '@mlx-omni/openai-dto';
import { SYSTEM_FINGERPRINT, toUsage, type CompletionIdentity } from '../shared/completion-object';

/** Tracks one choice's text length so legacy logprobs can carry each token's character offset. */
class LegacyLogprobs {
  private offset = 0;

  /**
   * Converts the worker's logprobs into the legacy columns, advancing past `text`. Several entries
   * in one piece (an echoed prompt) get offsets advancing by each token's text.
   */
  take(text: string, entries: ReadonlyArray<WireTokenLogprob | WirePromptLogprob>): CompletionLogprobsDto {
    const columns: CompletionLogprobsDto = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
    let offset = this.offset;
    for (const entry of entries) {
      columns.tokens.push(entry.token);
      columns.token_logprobs.push(entry.logprob);
      columns.top_logprobs.push(entry.top_logprobs === null ? null : Object.fromEntries(entry.top_logprobs.map((alternative) => [alternative.token, alternative.logprob])));
      columns.text_offset.push(Math.min(offset, this.offset + text.length));
      offset += entry.token.length;
    }
    this.offset += text.length;
    return columns;
  }

  skip(text: string): void {
    this.offset += text.length;
  }
}

/** Builds legacy `text_completion` objects, whole or as stream chunks (OpenAI uses one shape for both). */
export class TextCompletionBuilder {
  private readonly offsets = new Map<number, LegacyLogprobs>();
  private readonly choices = new Map<number, CompletionChoiceDto>();

  constructor(
    private readonly identity: CompletionIdentity,
    private readonly wantLogprobs: boolean,
  ) {}

  private object(choices: CompletionChoiceDto[]): CompletionResponseDto {
    return { id: this.identity.id, object: 'text_completion', created: this.identity.created, model: this.identity.model, system_fingerprint: SYSTEM_FINGERPRINT, choices };
  }

  /** The stream chunk for one worker chunk (a finish becomes an empty text with its reason). */
  chunk(chunk: GenerationChunk): CompletionChoiceDto {
    let offsets = this.offsets.get(chunk.choice);
    if (offsets === undefined) {
      offsets = new LegacyLogprobs();
      this.offsets.set(chunk.choice, offsets);
    }
    if (chunk.type === 'finish') {
      // Chat-only reasons cannot occur: completions have no tools.
      return { text: '', index: chunk.choice, logprobs: null, finish_reason: chunk.reason === 'length' ? 'length' : 'stop' };
    }
    if (chunk.type !== 'content') {
      throw new Error(`A text completion received a ${chunk.type} chunk`);
    }
    let logprobs: CompletionLogprobsDto | null = null;
    const entries = chunk.promptLogprobs ?? chunk.logprobs;
    if (entries !== undefined) {
      logprobs = offsets.take(chunk.text, entries);
    } else {
      offsets.skip(chunk.text);
      logprobs = this.wantLogprobs ? { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] } : null;
    }
    return { text: chunk.text, index: chunk.choice, logprobs, finish_reason: null };
  }

  streamChunk(chunk: GenerationChunk): CompletionResponseDto {
    return this.object([this.chunk(chunk)]);
  }

  /** Folds a chunk into the whole answer. */
  add(chunk: GenerationChunk): void {
    const piece = this.chunk(chunk);
    const choice = this.choices.get(piece.index);
    if (choice === undefined) {
      this.choices.set(piece.index, piece);
      return;
    }
    choice.text += piece.text;
    choice.finish_reason = piece.finish_reason ?? choice.finish_reason;
    if (choice.logprobs !== null && piece.logprobs !== null) {
      for (const column of ['tokens', 'token_logprobs', 'top_logprobs', 'text_offset'] as const) {
        (choice.logprobs[column] as unknown[]).push(...piece.logprobs[column]);
      }
    }
  }

  build(result: GenerationResult): CompletionResponseDto {
    const choices = [...this.choices.values()].sort((a, b) => a.index - b.index);
    return { ...this.object(choices), usage: toUsage(result) };
  }

  usageChunk(result: GenerationResult): CompletionResponseDto {
    return { ...this.object([]), usage: toUsage(result) };
  }
}
