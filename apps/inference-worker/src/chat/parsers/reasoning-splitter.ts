/** A piece of generated text divided between the reasoning channel and the answer. */
export interface ReasoningSplit {
  reasoning: string;
  content: string;
}

export interface ReasoningSplitterOptions {
  /**
   * Generation begins inside reasoning because the chat template already wrote the opening tag
   * into the prompt (Qwen3 and DeepSeek-R1 templates do); see `promptOpensReasoning`.
   */
  readonly startsInReasoning?: boolean;
  readonly openTag?: string;
  readonly closeTag?: string;
}

const OPEN = '<think>';
const CLOSE = '</think>';

/** Whether the prompt ends inside an open reasoning block, so generation starts there. */
export function promptOpensReasoning(prompt: string, openTag = OPEN): boolean {
  return prompt.trimEnd().endsWith(openTag);
}

/**
 * Routes text inside `<think>...</think>` to reasoning and the rest to content, delta by delta.
 * A tag split across deltas is held back until it is complete or proven not to be a tag.
 * Whitespace right after a tag is dropped: templates put newlines there for layout.
 */
export class ReasoningSplitter {
  private inReasoning: boolean;
  private buffer = '';
  private atChannelStart: boolean;
  private readonly openTag: string;
  private readonly closeTag: string;

  constructor(options: ReasoningSplitterOptions = {}) {
    this.inReasoning = options.startsInReasoning ?? false;
    // Only text right after a tag is trimmed; an answer that merely starts with a space keeps it.
    this.atChannelStart = this.inReasoning;
    this.openTag = options.openTag ?? OPEN;
    this.closeTag = options.closeTag ?? CLOSE;
  }

  push(delta: string): ReasoningSplit {
    const out: ReasoningSplit = { reasoning: '', content: '' };
    this.buffer += delta;
    for (;;) {
      const tag = this.inReasoning ? this.closeTag : this.openTag;
      const at = this.buffer.indexOf(tag);
      if (at < 0) {
        const keep = partialTagLength(this.buffer, tag);
        this.send(this.buffer.slice(0, this.buffer.length - keep), out);
        this.buffer = this.buffer.slice(this.buffer.length - keep);
        return out;
      }
      this.send(this.buffer.slice(0, at), out);
      this.buffer = this.buffer.slice(at + tag.length);
      this.inReasoning = !this.inReasoning;
      this.atChannelStart = true;
    }
  }

  /** Flushes held text; an unclosed reasoning block (cut by max_tokens) stays reasoning. */
  end(): ReasoningSplit {
    const out: ReasoningSplit = { reasoning: '', content: '' };
    this.send(this.buffer, out);
    this.buffer = '';
    return out;
  }

  private send(text: string, out: ReasoningSplit): void {
    const piece = this.atChannelStart ? text.trimStart() : text;
    if (piece === '') {
      return;
    }
    this.atChannelStart = false;
    if (this.inReasoning) {
      out.reasoning += piece;
    } else {
      out.content += piece;
    }
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of `tag`. */
function partialTagLength(text: string, tag: string): number {
  for (let k = Math.min(tag.length - 1, text.length); k > 0; k--) {
    if (text.endsWith(tag.slice(0, k))) {
      return k;
    }
  }
  return 0;
}

/** Splits a whole generated text at once. */
export function splitReasoning(text: string, options: ReasoningSplitterOptions = {}): ReasoningSplit {
  const splitter = new ReasoningSplitter(options);
  const head = splitter.push(text);
  const tail = splitter.end();
  return { reasoning: head.reasoning + tail.reasoning, content: head.content + tail.content };
}
