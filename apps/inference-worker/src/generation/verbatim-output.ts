import type { GenerationChunk, WireTokenLogprob } from '@mlx-omni/ipc';
import type { ChoiceOutputSink } from './choice-generator';

/** Passes generated text through unchanged: legacy completions and JSON-constrained chat answers. */
export class VerbatimOutput implements ChoiceOutputSink {
  constructor(private readonly choice: number) {}

  push(text: string, logprobs: WireTokenLogprob[] | undefined): GenerationChunk[] {
    // A token whose text is held back (a partial character or stop string) still reports its logprob.
    return text === '' && logprobs === undefined ? [] : [this.content(text, logprobs)];
  }

  end(text: string, reason: 'stop' | 'length'): GenerationChunk[] {
    return [...(text === '' ? [] : [this.content(text, undefined)]), { choice: this.choice, type: 'finish', reason }];
  }

  content(text: string, logprobs: WireTokenLogprob[] | undefined): GenerationChunk {
    return { choice: this.choice, type: 'content', text, ...(logprobs === undefined ? {} : { logprobs }) };
  }
}
