import type { FinishReason, GenerationFinished } from './events';

/** Measures one generation; shared by the token and text generators so both report alike. */
export class GenerationClock {
  private readonly startedAt = performance.now();
  private firstTokenAt: number | undefined;

  firstToken(): void {
    this.firstTokenAt ??= performance.now();
  }

  finish(
    finishReason: FinishReason,
    promptTokens: number,
    completionTokens: number,
    stopSequence?: string,
  ): GenerationFinished {
    const end = performance.now();
    const firstTokenAt = this.firstTokenAt ?? end;
    const promptMs = firstTokenAt - this.startedAt;
    const generationMs = end - firstTokenAt;
    const timings = {
      promptMs,
      generationMs,
      promptTokensPerSecond: promptMs > 0 ? (promptTokens * 1000) / promptMs : 0,
      generationTokensPerSecond: generationMs > 0 ? (Math.max(completionTokens - 1, 0) * 1000) / generationMs : 0,
    };
    return { type: 'done', finishReason, ...(stopSequence === undefined ? {} : { stopSequence }), promptTokens, completionTokens, timings };
  }
}
