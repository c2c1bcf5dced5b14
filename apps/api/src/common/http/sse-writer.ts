import type { ServerResponse } from 'node:http';

/**
 * Writes server-sent events straight to the socket. `send` resolves only when the socket can take
 * more, so a slow client holds back the producer (and, through IPC credit, the worker's decoding).
 */
export class SseWriter {
  private closed = false;

  constructor(private readonly response: ServerResponse) {
    response.once('close', () => {
      this.closed = true;
    });
  }

  /** Sends the status and headers; done before the first event so clients see the stream start. */
  open(headers: Record<string, string>): void {
    this.response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Reverse proxies (nginx) would otherwise buffer the whole stream.
      'x-accel-buffering': 'no',
      ...headers,
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async send(data: unknown): Promise<void> {
    await this.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  end(): void {
    if (!this.closed) {
      this.response.end();
    }
  }

  private write(text: string): Promise<void> {
    if (this.closed) {
      return Promise.resolve();
    }
    if (this.response.write(text)) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        this.response.off('drain', done);
        this.response.off('close', done);
        resolve();
      };
      this.response.once('drain', done);
      this.response.once('close', done);
    });
  }
}
