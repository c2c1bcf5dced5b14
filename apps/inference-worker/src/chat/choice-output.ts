import type { ToolCallFormat } from '@mlx-omni/model-families';
import type { ChatFinishReasonWire, GenerationChunk, WireTokenLogprob } from '@mlx-omni/ipc';
import type { ChoiceOutputSink } from '../generation/choice-generator';
import { VerbatimOutput } from '../generation/verbatim-output';
import { parseForcedToolCalls, type JsonConstraint } from '@mlx-omni/structured-output';
import {
  createToolCallParser,
  HarmonyStream,
  promptExpectsHarmony,
  promptOpensReasoning,
  ReasoningSplitter,
  toolCallFamilyFor,
  type HarmonyOutput,
  type ToolCallStream,
} from './parsers';
import type { ParsedToolCall } from './parsers/tool-call-parser';
import type { ParameterSchema } from './parsers/text-arguments';

/** How one request's generated text becomes chunks. Constraints are factories: each choice needs a fresh one. */
export type OutputMode =
  | {
      kind: 'text';
      toolCallFormat: ToolCallFormat | undefined;
      prompt: string;
      toolNames: string[];
      /** Each tool's parameters schema, which types arguments written as bare text. */
      toolParameters: ReadonlyMap<string, ParameterSchema>;
    }
  | { kind: 'json'; constraint: () => JsonConstraint }
  | {
      kind: 'forced-tool-call';
      constraint: () => JsonConstraint;
      /** Reads the calls of a forced output in the model's markup; absent: the output is the JSON call form. */
      parse?: (text: string) => ParsedToolCall[];
    };

/**
 * Turns one choice's text deltas into chunks: reasoning and answer apart, tool-call markup into
 * calls, and a forced call's JSON (`{"name", "arguments"}` or a list of them) into tool calls.
 */
export class ChoiceOutput implements ChoiceOutputSink {
  /** Tokens whose text went only to reasoning (usage's reasoning_tokens). */
  reasoningTokens = 0;
  private readonly splitter: ReasoningSplitter | undefined;
  private readonly toolCalls: ToolCallStream | undefined;
  /** gpt-oss: channels carry reasoning, answer and calls; this replaces the splitter and the markup parser. */
  private readonly harmony: HarmonyStream | undefined;
  private forcedText = '';
  private callCount = 0;
  private readonly verbatim: VerbatimOutput;

  constructor(
    private readonly choice: number,
    private readonly mode: OutputMode,
    private readonly newCallId: () => string,
  ) {
    this.verbatim = new VerbatimOutput(choice);
    if (mode.kind === 'text' && usesHarmony(mode)) {
      this.harmony = new HarmonyStream(new Set(mode.toolNames));
    } else if (mode.kind === 'text') {
      this.splitter = new ReasoningSplitter({ startsInReasoning: promptOpensReasoning(mode.prompt) });
      this.toolCalls =
        mode.toolNames.length === 0
          ? undefined
          : createToolCallParser(toolCallFamilyFor({ declaredFormat: mode.toolCallFormat, chatTemplate: mode.prompt }), {
              toolNames: mode.toolNames,
              toolParameters: mode.toolParameters,
            }).stream();
    }
  }

  push(text: string, logprobs: WireTokenLogprob[] | undefined): GenerationChunk[] {
    switch (this.mode.kind) {
      case 'json':
        return this.verbatim.push(text, logprobs);
      case 'forced-tool-call':
        this.forcedText += text;
        return [];
      case 'text':
        return this.harmony ? this.routeHarmony(this.harmony.push(text), logprobs) : this.routeText(this.splitter!.push(text), logprobs);
    }
  }

  end(text: string, reason: 'stop' | 'length'): GenerationChunk[] {
    if (this.mode.kind === 'json') {
      return this.verbatim.end(text, reason);
    }
    const chunks: GenerationChunk[] = [];
    switch (this.mode.kind) {
      case 'forced-tool-call': {
        this.forcedText += text;
        const calls = reason === 'stop' ? this.forcedCalls() : undefined;
        // A call cut off by max_tokens is not valid JSON; the client gets the partial text as content.
        chunks.push(...(calls === undefined ? [this.content(this.forcedText, undefined)] : calls.map((call) => this.toolCall(call))));
        break;
      }
      case 'text': {
        if (this.harmony) {
          const pushed = this.harmony.push(text);
          const tail = this.harmony.end();
          chunks.push(
            ...this.routeHarmony(
              { reasoning: pushed.reasoning + tail.reasoning, content: pushed.content + tail.content, toolCalls: [...pushed.toolCalls, ...tail.toolCalls] },
              undefined,
            ),
          );
          break;
        }
        const split = this.splitter!.push(text);
        const tail = this.splitter!.end();
        chunks.push(...this.routeText({ reasoning: split.reasoning + tail.reasoning, content: split.content + tail.content }, undefined));
        if (this.toolCalls !== undefined) {
          const last = this.toolCalls.end();
          if (last.content !== '') {
            chunks.push(this.content(last.content, undefined));
          }
          chunks.push(...last.toolCalls.map((call) => this.toolCall(call)));
        }
        break;
      }
    }
    const finish: ChatFinishReasonWire = reason === 'length' ? 'length' : this.callCount > 0 ? 'tool_calls' : 'stop';
    chunks.push({ choice: this.choice, type: 'finish', reason: finish });
    return chunks;
  }

  private routeText(split: { reasoning: string; content: string }, logprobs: WireTokenLogprob[] | undefined): GenerationChunk[] {
    const chunks: GenerationChunk[] = [];
    if (split.reasoning !== '') {
      chunks.push({ choice: this.choice, type: 'reasoning', text: split.reasoning });
      if (split.content === '') {
        this.reasoningTokens += 1;
        return chunks;
      }
    }
    const parsed = this.toolCalls === undefined ? { content: split.content, toolCalls: [] } : this.toolCalls.push(split.content);
    // A token whose text is held back (a partial character, tag or stop string) still reports its logprob.
    if (parsed.content !== '' || logprobs !== undefined) {
      chunks.push(this.content(parsed.content, logprobs));
    }
    chunks.push(...parsed.toolCalls.map((call) => this.toolCall(call)));
    return chunks;
  }

  private routeHarmony(output: HarmonyOutput, logprobs: WireTokenLogprob[] | undefined): GenerationChunk[] {
    const chunks: GenerationChunk[] = [];
    if (output.reasoning !== '') {
      chunks.push({ choice: this.choice, type: 'reasoning', text: output.reasoning });
    }
    if (output.reasoning !== '' && output.content === '') {
      this.reasoningTokens += 1;
    } else if (output.content !== '' || logprobs !== undefined) {
      chunks.push(this.content(output.content, logprobs));
    }
    chunks.push(...output.toolCalls.map((call) => this.toolCall(call)));
    return chunks;
  }

  private forcedCalls(): ParsedToolCall[] | undefined {
    if (this.mode.kind === 'forced-tool-call' && this.mode.parse) {
      const calls = this.mode.parse(this.forcedText);
      return calls.length > 0 ? calls : undefined;
    }
    try {
      return parseForcedToolCalls(this.forcedText);
    } catch {
      // Only a cut-off output fails here: the grammar admits nothing else.
      return undefined;
    }
  }

  private content(text: string, logprobs: WireTokenLogprob[] | undefined): GenerationChunk {
    return this.verbatim.content(text, logprobs);
  }

  private toolCall(call: ParsedToolCall): GenerationChunk {
    return { choice: this.choice, type: 'tool_call', index: this.callCount++, id: this.newCallId(), name: call.name, arguments: call.arguments };
  }
}

/** Whether a text-mode choice is gpt-oss harmony: the family says so, or the prompt leaves the model to write it. */
export function usesHarmony(mode: Extract<OutputMode, { kind: 'text' }>): boolean {
  return mode.toolCallFormat === 'harmony' || promptExpectsHarmony(mode.prompt);
}
