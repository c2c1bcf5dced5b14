import type { TokenGenerationEvent } from '../generate/events';

interface Pull {
  resolve(result: IteratorResult<TokenGenerationEvent>): void;
  reject(error: Error): void;
}

/**
 * The events of one sequence, pushed by the engine loop and pulled by the request that owns it.
 * Breaking out of a `for await` over it (a stop sequence was found, the client left) calls
 * `return()`, which tells the engine to drop the row before its next step.
 */
export class TokenStream implements AsyncIterableIterator<TokenGenerationEvent> {
  private readonly queued: TokenGenerationEvent[] = [];
  private readonly pulls: Pull[] = [];
  private failure: Error | undefined;
  private ended = false;
  /** Set when the consumer stopped reading: the engine drops the row. */
  closed = false;

  push(event: TokenGenerationEvent): void {
    const pull = this.pulls.shift();
    if (pull) {
      pull.resolve({ value: event, done: false });
    } else {
      this.queued.push(event);
    }
    if (event.type === 'done') {
      this.finish();
    }
  }

  /** Ends the stream with an error (a fault of an engine step), thrown to the reader after any queued events. */
  fail(error: unknown): void {
    this.failure = error instanceof Error ? error : new Error(String(error));
    for (const pull of this.pulls.splice(0)) {
      pull.reject(this.failure);
    }
    this.finish();
  }

  next(): Promise<IteratorResult<TokenGenerationEvent>> {
    const event = this.queued.shift();
    if (event) {
      return Promise.resolve({ value: event, done: false });
    }
    if (this.failure) {
      return Promise.reject(this.failure);
    }
    if (this.ended) {
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.pulls.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<TokenGenerationEvent>> {
    this.closed = true;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TokenGenerationEvent> {
    return this;
  }

  private finish(): void {
    this.ended = true;
    for (const pull of this.pulls.splice(0)) {
      pull.resolve({ value: undefined, done: true });
    }
  }
}
