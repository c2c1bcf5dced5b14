import type { ParsedToolCall } from './tool-call-parser';
import { parseJsonOrUndefined } from './tool-call-parser';

/** What one piece of gpt-oss output holds once its channels are told apart. */
export interface HarmonyOutput {
  reasoning: string;
  content: string;
  toolCalls: ParsedToolCall[];
}

const MESSAGE = '<|message|>';
const CHANNEL = '<|channel|>';
const START = '<|start|>';
/** A message ends at one of these; `<|call|>` and `<|return|>` also end the turn (they are stop tokens). */
const TERMINATORS = ['<|end|>', '<|call|>', '<|return|>'];
/** Headers are a few words; text this long without `<|message|>` is not harmony (a model ignoring its format). */
const MAX_HEADER = 256;

type Target = { kind: 'reasoning' } | { kind: 'content' } | { kind: 'call'; name: string };

/**
 * OpenAI's harmony format as gpt-oss writes it after the prompt's `<|start|>assistant`: messages
 * of a header (`<|channel|>analysis`, `<|channel|>commentary to=functions.NAME <|constrain|>json`,
 * or with the recipient before the channel) then `<|message|>` and a body up to `<|end|>`,
 * `<|call|>` or `<|return|>`; the next message starts with `<|start|>assistant`. The analysis
 * channel is reasoning, a commentary message to `functions.NAME` is a tool call whose body is the
 * JSON arguments, and final (or commentary to no one: a preamble the user sees) is content.
 *
 * Streaming: body text is released as it comes, except a tail that may be the start of a
 * terminator; calls are released when their message ends.
 */
export class HarmonyStream {
  private buffer = '';
  private inHeader = true;
  private target: Target = { kind: 'content' };
  private callBody = '';
  /** Once output shows it is not harmony, everything is plain content. */
  private plain = false;
  private out: HarmonyOutput = { reasoning: '', content: '', toolCalls: [] };

  constructor(private readonly toolNames: ReadonlySet<string>) {}

  push(text: string): HarmonyOutput {
    this.buffer += text;
    this.pump(false);
    return this.take();
  }

  end(): HarmonyOutput {
    this.pump(true);
    return this.take();
  }

  private take(): HarmonyOutput {
    const out = this.out;
    this.out = { reasoning: '', content: '', toolCalls: [] };
    return out;
  }

  private pump(ending: boolean): void {
    for (;;) {
      if (this.plain) {
        this.out.content += this.buffer;
        this.buffer = '';
        return;
      }
      if (this.inHeader) {
        const at = this.buffer.indexOf(MESSAGE);
        if (at < 0) {
          if (ending || this.buffer.length > MAX_HEADER) {
            // Never reached a body: what was written is text for the user.
            this.plain = this.buffer.trim() !== '';
            if (!this.plain) {
              this.buffer = '';
              return;
            }
            continue;
          }
          return;
        }
        this.target = this.headerTarget(this.buffer.slice(0, at));
        this.buffer = this.buffer.slice(at + MESSAGE.length);
        this.inHeader = false;
        continue;
      }
      const [end, terminator] = this.nextTerminator();
      if (end < 0) {
        const keep = ending ? 0 : heldTail(this.buffer);
        this.emit(this.buffer.slice(0, this.buffer.length - keep));
        this.buffer = this.buffer.slice(this.buffer.length - keep);
        if (ending) {
          this.finishMessage();
        }
        return;
      }
      this.emit(this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end + terminator.length);
      this.finishMessage();
      this.inHeader = true;
      // The next message's `<|start|>assistant` is header text: drop up to and including the role.
      if (this.buffer.startsWith(START)) {
        this.buffer = this.buffer.slice(START.length);
      }
    }
  }

  private nextTerminator(): [number, string] {
    let best: [number, string] = [-1, ''];
    for (const terminator of TERMINATORS) {
      const at = this.buffer.indexOf(terminator);
      if (at >= 0 && (best[0] < 0 || at < best[0])) {
        best = [at, terminator];
      }
    }
    return best;
  }

  private headerTarget(header: string): Target {
    const recipient = /to=functions\.([^\s<]+)/.exec(header)?.[1];
    if (recipient !== undefined && this.toolNames.has(recipient)) {
      return { kind: 'call', name: recipient };
    }
    const channel = header.includes(CHANNEL) ? header.slice(header.indexOf(CHANNEL) + CHANNEL.length).trim().split(/[\s<]/)[0] : '';
    return channel === 'analysis' ? { kind: 'reasoning' } : { kind: 'content' };
  }

  private emit(text: string): void {
    switch (this.target.kind) {
      case 'reasoning':
        this.out.reasoning += text;
        return;
      case 'content':
        this.out.content += text;
        return;
      case 'call':
        this.callBody += text;
    }
  }

  private finishMessage(): void {
    if (this.target.kind === 'call') {
      const args = parseJsonOrUndefined(this.callBody.trim());
      if (typeof args === 'object' && args !== null && !Array.isArray(args)) {
        this.out.toolCalls.push({ name: this.target.name, arguments: JSON.stringify(args) });
      } else {
        // Arguments that are not a JSON object cannot be a call: the client sees the text.
        this.out.content += this.callBody;
      }
      this.callBody = '';
    }
    this.target = { kind: 'content' };
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of a terminator. */
function heldTail(text: string): number {
  for (let k = Math.min(text.length, Math.max(...TERMINATORS.map((t) => t.length)) - 1); k > 0; k--) {
    const tail = text.slice(text.length - k);
    if (TERMINATORS.some((t) => t.startsWith(tail))) {
      return k;
    }
  }
  return 0;
}

/** Whether a prompt leaves the model to write harmony: gpt-oss's template ends with a bare `<|start|>assistant`. */
export function promptExpectsHarmony(prompt: string): boolean {
  return prompt.endsWith('<|start|>assistant');
}
