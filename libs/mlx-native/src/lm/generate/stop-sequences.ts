/** What may be shown after a piece of text arrives, and the stop sequence it completed, if any. */
export interface StopScan {
  readonly emit: string;
  readonly stop?: string;
}

/**
 * Finds stop sequences in streamed text, across token boundaries, without ever emitting any part
 * of one: the longest tail of the text that could still grow into a stop sequence is held back
 * until the next piece decides it. Any later match must therefore begin inside the held tail.
 */
export class StopSequenceMatcher {
  private readonly stops: readonly string[];
  private held = '';

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((stop) => stop !== '');
  }

  push(text: string): StopScan {
    const pending = this.held + text;
    let firstIndex = -1;
    let firstStop: string | undefined;
    for (const stop of this.stops) {
      const index = pending.indexOf(stop);
      if (index !== -1 && (firstIndex === -1 || index < firstIndex)) {
        firstIndex = index;
        firstStop = stop;
      }
    }
    if (firstStop !== undefined) {
      this.held = '';
      return { emit: pending.slice(0, firstIndex), stop: firstStop };
    }
    const keep = this.longestStopPrefixAtEnd(pending);
    this.held = pending.slice(pending.length - keep);
    return { emit: pending.slice(0, pending.length - keep) };
  }

  /** The text held back when generation ends without completing a stop sequence. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  private longestStopPrefixAtEnd(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, text.length); length > longest; length--) {
        if (text.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
