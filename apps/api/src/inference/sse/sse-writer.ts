import { PassThrough } from 'node:stream';

/** An event whose `event:` line repeats its `type` (Anthropic's and the Responses API's streams). */
export interface NamedEvent {
  type: string;
}

/**
 * Server-sent events written into a stream that the route hands to Fastify as its response body.
 * Fastify then pipes it to the socket, runs its response hooks and destroys it when the client
 * leaves; nothing takes the reply over from the framework. `send` resolves only when the stream
 * can take more, so a slow client holds back the producer (and, through IPC credit, the worker).
 */
export class SseWriter {
  readonly body = new PassThrough();

  /** The client left (Fastify destroyed the body) or the stream was ended. */
  get isClosed(): boolean {
    return this.body.destroyed || this.body.writableEnded;
  }

  /** A `data:` line only: OpenAI's Chat Completions and legacy Completions streams. */
  async send(data: unknown): Promise<void> {
    await this.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  /** An `event:` line equal to the data's `type`, then the data: Anthropic's SDK drops frames without one. */
  async sendNamed(event: NamedEvent): Promise<void> {
    await this.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  end(): void {
    if (!this.isClosed) {
      this.body.end();
    }
  }

  private write(text: string): Promise<void> {
    if (this.isClosed) {
      return Promise.resolve();
    }
    if (this.body.write(text)) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        this.body.off('drain', done);
        this.body.off('close', done);
        resolve();
      };
      this.body.once('drain', done);
      this.body.once('close', done);
    });
  }
}
