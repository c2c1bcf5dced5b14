import type { ToolCallFormat } from '@mlx-omni/model-families';
import { typedArguments, type ParameterSchema } from './text-arguments';
/** One call recovered from generated text; `arguments` is JSON text of an object, as OpenAI sends it. */
export interface ParsedToolCall {
  readonly name: string;
  readonly arguments: string;
}

/** Text split into what the user reads and the calls the model made. */
export interface ParsedOutput {
  content: string;
  toolCalls: ParsedToolCall[];
}

/**
 * Incremental parsing for streamed responses. Text that might still turn out to be tool
 * markup (a partial `<tool_c`) is held back, so markup never leaks into content deltas.
 */
export interface ToolCallStream {
  /** Feeds the next piece of generated text; returns the content now safe to send and the calls just completed. */
  push(delta: string): ParsedOutput;
  /** The output has ended: flushes held text and settles an unterminated call. */
  end(): ParsedOutput;
}

export interface ToolCallParser {
  /** The family name, as the registry knows it. */
  readonly family: string;
  /** Never throws: markup that does not decode into calls stays in `content`. */
  parse(text: string): ParsedOutput;
  stream(): ToolCallStream;
}

export interface ToolCallParserOptions {
  /**
   * The tools the request declared. A "call" naming anything else is left as text: formats
   * without a dedicated token (bare JSON, Python calls) can otherwise be ordinary prose.
   */
  readonly toolNames?: readonly string[];
  /** Each tool's parameters schema, by name: formats that write arguments as bare text are typed by it. */
  readonly toolParameters?: ReadonlyMap<string, ParameterSchema>;
}

/** A call as a format spells it, before its arguments are normalised to JSON text. */
export interface RawToolCall {
  readonly name: unknown;
  readonly arguments: unknown;
  /** Formats that write each argument as bare text (XML-style): name and text, typed later by the tool's schema. */
  readonly textArguments?: ReadonlyArray<readonly [string, string]>;
}

/** A tool-call format and how to recognise a model that uses it. */
export interface ToolCallFamily {
  readonly name: Exclude<ToolCallFormat, 'harmony'>;
  /** Text whose presence in the chat template identifies the format; checked before the model family's declared format. */
  readonly templateMarkers: readonly string[];
  readonly sections: readonly SectionSpec[];
}

/** How one family marks a span of output as tool calls. */
export interface SectionSpec {
  readonly open: string;
  /** null: the section runs to the end of the output, or to the next occurrence of `open`. */
  readonly close: string | null;
  /** `open` belongs to the payload (a bare JSON object is recognised by its '{'). */
  readonly openIsPayload?: boolean;
  /** Recognised only before any content; later on, the same text is prose. */
  readonly onlyAtStart?: boolean;
  /** The calls a section's payload spells, or null when it is not a well-formed call list. */
  decode(payload: string): RawToolCall[] | null;
}

/** JSON.parse for model output, where malformed text is an expected outcome rather than a fault. */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Splits at `separator` where it stands outside JSON strings and brackets (Llama separates
 * calls with ';', which may also occur inside an argument).
 */
export function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') {
        i++;
      } else if (ch === '"') {
        inString = false;
      }
    } else if (ch === '"') {
      inString = true;
    } else if (ch === '{' || ch === '[') {
      depth++;
    } else if (ch === '}' || ch === ']') {
      depth--;
    } else if (ch === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `{"name": ..., "arguments": {...}}` or a list of them. Llama and Gemma prompts say
 * `parameters` instead of `arguments`; both are read.
 */
export function callsFromJson(value: unknown): RawToolCall[] | null {
  const items = Array.isArray(value) ? value : [value];
  const calls: RawToolCall[] = [];
  for (const item of items) {
    // Without an arguments member, `{"name": "Ann"}` is more likely data than a call.
    if (!isRecord(item) || !('arguments' in item || 'parameters' in item)) {
      return null;
    }
    calls.push({ name: item.name, arguments: item.arguments ?? item.parameters });
  }
  return calls.length > 0 ? calls : null;
}

/** JSON text of an arguments object; a string that already holds one is accepted, as some models double-encode. */
function argumentsText(value: unknown): string | null {
  const parsed = typeof value === 'string' ? parseJsonOrUndefined(value) : value;
  return isRecord(parsed) ? JSON.stringify(parsed) : null;
}

/**
 * The parser every family uses, configured by its section markers and payload decoder. One
 * streaming state machine serves both `parse` and `stream`, so the two cannot disagree.
 */
export class MarkupToolCallParser implements ToolCallParser {
  constructor(
    readonly family: string,
    private readonly sections: readonly SectionSpec[],
    private readonly options: ToolCallParserOptions = {},
  ) {}

  parse(text: string): ParsedOutput {
    const stream = this.stream();
    const head = stream.push(text);
    const tail = stream.end();
    return { content: head.content + tail.content, toolCalls: [...head.toolCalls, ...tail.toolCalls] };
  }

  stream(): ToolCallStream {
    return new MarkupStream(this.sections, this.options.toolNames ? new Set(this.options.toolNames) : null, this.options.toolParameters ?? new Map());
  }
}

class MarkupStream implements ToolCallStream {
  /** Outside a section: text held because it may begin a marker. Inside: the payload so far. */
  private buffer = '';
  private section: SectionSpec | null = null;
  /** Whitespace not yet sent: it is layout around tool calls unless real text follows it. */
  private heldSpace = '';
  private sentText = false;
  private sentCall = false;
  private out: ParsedOutput = { content: '', toolCalls: [] };

  constructor(
    private readonly sections: readonly SectionSpec[],
    private readonly toolNames: ReadonlySet<string> | null,
    private readonly toolParameters: ReadonlyMap<string, ParameterSchema>,
  ) {}

  push(delta: string): ParsedOutput {
    this.buffer += delta;
    this.pump();
    return this.take();
  }

  end(): ParsedOutput {
    if (this.section !== null) {
      this.finishSection(this.section, this.buffer, false);
      this.section = null;
    } else {
      this.emit(this.buffer);
    }
    this.buffer = '';
    if (!this.sentCall) {
      this.out.content += this.heldSpace;
    }
    this.heldSpace = '';
    return this.take();
  }

  private take(): ParsedOutput {
    const out = this.out;
    this.out = { content: '', toolCalls: [] };
    return out;
  }

  private pump(): void {
    for (;;) {
      const section = this.section;
      if (section === null) {
        if (!this.openSection()) {
          return;
        }
        continue;
      }
      const end = section.close !== null ? this.buffer.indexOf(section.close) : this.nextOpen(section);
      if (end < 0) {
        return;
      }
      const payload = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (section.close?.length ?? 0));
      this.section = null;
      this.finishSection(section, payload, section.close !== null);
    }
  }

  /** For sections without a close marker, a repeated open marker starts the next call (Mistral's newer format). */
  private nextOpen(section: SectionSpec): number {
    return section.openIsPayload ? -1 : this.buffer.indexOf(section.open);
  }

  private eligible(): SectionSpec[] {
    return this.sections.filter((s) => !s.onlyAtStart || !this.sentText);
  }

  /** Enters the earliest section found in the buffer; otherwise sends all text that cannot start a marker. */
  private openSection(): boolean {
    let best: SectionSpec | null = null;
    let at = -1;
    for (const spec of this.eligible()) {
      const index = this.buffer.indexOf(spec.open);
      // A start-only marker must open the output: nothing but whitespace before it.
      const allowed = index >= 0 && (!spec.onlyAtStart || this.buffer.slice(0, index).trim() === '');
      if (allowed && (at < 0 || index < at)) {
        best = spec;
        at = index;
      }
    }
    if (best !== null) {
      this.emit(this.buffer.slice(0, at));
      this.buffer = this.buffer.slice(best.openIsPayload ? at : at + best.open.length);
      this.section = best;
      return true;
    }
    const keep = this.markerPrefixLength();
    this.emit(this.buffer.slice(0, this.buffer.length - keep));
    this.buffer = this.buffer.slice(this.buffer.length - keep);
    return false;
  }

  /** Length of the longest buffer suffix that is a proper prefix of an eligible marker. */
  private markerPrefixLength(): number {
    let keep = 0;
    for (const { open } of this.eligible()) {
      for (let k = Math.min(open.length - 1, this.buffer.length); k > keep; k--) {
        if (this.buffer.endsWith(open.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    return keep;
  }

  private finishSection(spec: SectionSpec, payload: string, closed: boolean): void {
    const calls = this.validCalls(spec.decode(payload));
    if (calls === null) {
      const opening = spec.openIsPayload ? '' : spec.open;
      this.emit(opening + payload + (closed && spec.close !== null ? spec.close : ''));
      return;
    }
    this.heldSpace = '';
    this.sentCall = true;
    this.out.toolCalls.push(...calls);
  }

  private validCalls(raw: RawToolCall[] | null): ParsedToolCall[] | null {
    if (raw === null) {
      return null;
    }
    const calls: ParsedToolCall[] = [];
    for (const call of raw) {
      const args =
        call.textArguments === undefined
          ? argumentsText(call.arguments)
          : JSON.stringify(typedArguments(call.textArguments, typeof call.name === 'string' ? this.toolParameters.get(call.name) : undefined));
      if (typeof call.name !== 'string' || call.name === '' || args === null) {
        return null;
      }
      if (this.toolNames !== null && !this.toolNames.has(call.name)) {
        return null;
      }
      calls.push({ name: call.name, arguments: args });
    }
    return calls;
  }

  private emit(text: string): void {
    if (text === '') {
      return;
    }
    const body = text.trimEnd();
    if (body === '') {
      this.heldSpace += text;
      return;
    }
    this.out.content += this.heldSpace + body;
    this.heldSpace = text.slice(body.length);
    this.sentText = true;
  }
}
