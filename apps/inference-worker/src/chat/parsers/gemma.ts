import { callsFromJson, parseJsonOrUndefined, RawToolCall, ToolCallFamily } from './tool-call-parser';

/** Thrown inside PythonCallReader only, to unwind to `read`; never escapes this module. */
class NotACall extends Error {}

/**
 * Reads `[f(a=1, b="x"), g()]` or `f(a=1)` lines: keyword arguments whose values are Python
 * literals (str, int, float, True/False/None, list, dict). Anything else is not a call.
 */
class PythonCallReader {
  private pos = 0;

  constructor(private readonly text: string) {}

  read(): RawToolCall[] | null {
    try {
      return this.calls();
    } catch (error) {
      if (error instanceof NotACall) {
        return null;
      }
      throw error;
    }
  }

  private calls(): RawToolCall[] {
    this.space();
    const bracketed = this.eat('[');
    const calls: RawToolCall[] = [];
    do {
      this.space();
      if (bracketed && this.peek() === ']') {
        break;
      }
      calls.push(this.call());
      this.space();
      // Unbracketed calls sit one per line; bracketed ones are comma separated.
    } while (bracketed ? this.eat(',') : this.pos < this.text.length);
    if (bracketed) {
      this.expect(']');
    }
    this.space();
    if (this.pos !== this.text.length || calls.length === 0) {
      throw new NotACall();
    }
    return calls;
  }

  private call(): RawToolCall {
    let name = this.identifier();
    while (this.eat('.')) {
      name += `.${this.identifier()}`;
    }
    this.space();
    this.expect('(');
    const args: Record<string, unknown> = {};
    this.space();
    if (!this.eat(')')) {
      do {
        this.space();
        const key = this.identifier();
        this.space();
        this.expect('=');
        this.space();
        args[key] = this.value();
        this.space();
      } while (this.eat(','));
      this.expect(')');
    }
    return { name, arguments: args };
  }

  private value(): unknown {
    const ch = this.peek();
    if (ch === '"' || ch === "'") {
      return this.string(ch);
    }
    if (ch === '[' || ch === '(') {
      const close = ch === '[' ? ']' : ')';
      this.pos++;
      return this.sequence(close, () => this.value());
    }
    if (ch === '{') {
      this.pos++;
      const entries = this.sequence('}', () => {
        const key = this.value();
        this.space();
        this.expect(':');
        this.space();
        return [String(key), this.value()] as const;
      });
      return Object.fromEntries(entries);
    }
    const number = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(this.text.slice(this.pos));
    if (number) {
      this.pos += number[0].length;
      return Number(number[0]);
    }
    const word = this.identifier();
    const constants: Record<string, unknown> = { True: true, False: false, None: null };
    if (!(word in constants)) {
      throw new NotACall();
    }
    return constants[word];
  }

  private sequence<T>(close: string, item: () => T): T[] {
    const items: T[] = [];
    this.space();
    while (!this.eat(close)) {
      items.push(item());
      this.space();
      if (!this.eat(',')) {
        this.expect(close);
        break;
      }
      this.space();
    }
    return items;
  }

  private string(quote: string): string {
    this.pos++;
    let out = '';
    const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos++];
      if (ch === quote) {
        return out;
      }
      if (ch === '\\') {
        const next = this.text[this.pos++] ?? '';
        out += escapes[next] ?? `\\${next}`;
      } else {
        out += ch;
      }
    }
    throw new NotACall();
  }

  private identifier(): string {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!match) {
      throw new NotACall();
    }
    this.pos += match[0].length;
    return match[0];
  }

  private space(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) {
      this.pos++;
    }
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private eat(ch: string): boolean {
    if (this.peek() === ch) {
      this.pos++;
      return true;
    }
    return false;
  }

  private expect(ch: string): void {
    if (!this.eat(ch)) {
      throw new NotACall();
    }
  }
}

/** The JSON style (`{"name": .., "parameters": ..}`) or the Python style, whichever the prompt asked for. */
function decodeGemmaCalls(payload: string): RawToolCall[] | null {
  const text = payload.trim();
  if (text.startsWith('{') || text.startsWith('[{')) {
    return callsFromJson(parseJsonOrUndefined(text));
  }
  return new PythonCallReader(text).read();
}

/**
 * Gemma has no tool tokens; Google's function-calling prompts ask for either a Python call list
 * `[f(a=1)]` or a JSON object, as the whole answer, and the model often fences the Python form
 * in a ```tool_code block. A bare list or object counts only when it opens the answer.
 */
export const GEMMA: ToolCallFamily = {
  name: 'gemma',
  templateMarkers: ['<start_of_turn>'],
  sections: [
    { open: '```tool_code', close: '```', decode: decodeGemmaCalls },
    { open: '[', close: null, openIsPayload: true, onlyAtStart: true, decode: decodeGemmaCalls },
    { open: '{', close: null, openIsPayload: true, onlyAtStart: true, decode: decodeGemmaCalls },
  ],
};
