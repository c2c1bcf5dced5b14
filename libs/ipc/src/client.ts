import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { IpcConnectionClosedError, IpcRemoteError, IpcTimeoutError } from './errors';
import { encodeFrame, readFrames, type ClientFrame, type ServerFrame } from './frames';
import type { IpcProtocol } from './protocol';

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface StreamOptions {
  signal?: AbortSignal;
  /** Chunks the worker may send ahead of the consumer; bounds memory held for a slow client. */
  window?: number;
}

interface PendingRequest {
  onChunk(data: unknown): void;
  settle(error: Error | undefined, result?: unknown): void;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}

/**
 * A typed, flow-controlled stream of chunks from a worker. Iterating grants the worker credit;
 * leaving the loop early (break, throw, abort) cancels the request on the worker.
 */
export class IpcStream<C, R> implements AsyncIterable<C> {
  private readonly buffered: C[] = [];
  private finished = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private consumedSinceCredit = 0;
  readonly result: Promise<R>;
  private resolveResult!: (value: R) => void;
  private rejectResult!: (error: Error) => void;

  constructor(
    private readonly window: number,
    private readonly grantCredit: (amount: number) => void,
    private readonly cancel: () => void,
  ) {
    this.result = new Promise<R>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // The result is also surfaced through iteration; this keeps an unobserved rejection from crashing the process.
    this.result.catch(() => undefined);
  }

  /** @internal */
  push(chunk: C): void {
    this.buffered.push(chunk);
    this.notify();
  }

  /** @internal */
  end(error: Error | undefined, result?: R): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    this.failure = error;
    if (error) {
      this.rejectResult(error);
    } else {
      this.resolveResult(result as R);
    }
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<C, void, undefined> {
    let completed = false;
    try {
      for (;;) {
        const chunk = this.buffered.shift();
        if (chunk !== undefined) {
          this.consumed();
          yield chunk;
          continue;
        }
        if (this.finished) {
          completed = true;
          if (this.failure) {
            throw this.failure;
          }
          return;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      if (!completed && !this.finished) {
        this.cancel();
      }
    }
  }

  private consumed(): void {
    this.consumedSinceCredit += 1;
    // Granting in half-window batches keeps the worker busy without a frame per token.
    if (this.consumedSinceCredit >= Math.max(1, Math.floor(this.window / 2))) {
      this.grantCredit(this.consumedSinceCredit);
      this.consumedSinceCredit = 0;
    }
  }
}

/** The API's end of the channel to one worker: many concurrent requests over one Unix socket. */
export class IpcClient<P extends IpcProtocol> {
  private readonly pending = new Map<number, PendingRequest>();
  private readonly closeListeners: Array<() => void> = [];
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly socket: Duplex,
    /** Where the worker listens (or, for an in-memory channel, its name); errors name it. */
    readonly socketPath: string,
  ) {
    readFrames(socket, (frame) => this.handleFrame(frame as ServerFrame));
    socket.on('close', () => this.handleClose());
    socket.on('error', () => undefined);
  }

  static connect<P extends IpcProtocol>(socketPath: string, timeoutMs = 2_000): Promise<IpcClient<P>> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new IpcTimeoutError('connect', timeoutMs));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new IpcClient<P>(socket, socketPath));
      });
    });
  }

  /** A client over an already open byte stream: one end of `memoryChannel()` for a worker in this process. */
  static over<P extends IpcProtocol>(stream: Duplex, name: string): IpcClient<P> {
    return new IpcClient<P>(stream, name);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  close(): void {
    this.socket.destroy();
  }

  call<K extends keyof P['unary'] & string>(
    method: K,
    params: P['unary'][K]['params'],
    options: CallOptions = {},
  ): Promise<P['unary'][K]['result']> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new IpcConnectionClosedError(this.socketPath));
        return;
      }
      const { signal, timeoutMs } = options;
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const id = this.nextId++;
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        this.send({ kind: 'cancel', id });
        finish(abortError(signal!));
      };
      const finish = (error: Error | undefined, result?: unknown): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        if (error) {
          reject(error);
        } else {
          resolve(result as P['unary'][K]['result']);
        }
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.send({ kind: 'cancel', id });
          finish(new IpcTimeoutError(method, timeoutMs));
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, { onChunk: () => undefined, settle: finish });
      this.send({ kind: 'call', id, method, params });
    });
  }

  stream<K extends keyof P['stream'] & string>(
    method: K,
    params: P['stream'][K]['params'],
    options: StreamOptions = {},
  ): IpcStream<P['stream'][K]['chunk'], P['stream'][K]['result']> {
    const window = options.window ?? 32;
    const id = this.nextId++;
    const signal = options.signal;
    const onAbort = (): void => cancel(abortError(signal!));
    const cancel = (reason?: Error): void => {
      if (this.pending.delete(id)) {
        this.send({ kind: 'cancel', id });
        signal?.removeEventListener('abort', onAbort);
        stream.end(reason ?? new DOMException('The stream was cancelled', 'AbortError'));
      }
    };
    const stream = new IpcStream<P['stream'][K]['chunk'], P['stream'][K]['result']>(
      window,
      (amount) => this.send({ kind: 'credit', id, amount }),
      () => cancel(),
    );
    if (this.closed) {
      stream.end(new IpcConnectionClosedError(this.socketPath));
      return stream;
    }
    if (signal?.aborted) {
      stream.end(abortError(signal));
      return stream;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    this.pending.set(id, {
      onChunk: (data) => stream.push(data as P['stream'][K]['chunk']),
      settle: (error, result) => {
        this.pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
        stream.end(error, result as P['stream'][K]['result']);
      },
    });
    this.send({ kind: 'stream', id, method, params, window });
    return stream;
  }

  private send(frame: ClientFrame): void {
    if (!this.closed) {
      // Client frames are small control messages; the OS buffer absorbs them, so no drain wait is needed.
      this.socket.write(encodeFrame(frame));
    }
  }

  private handleFrame(frame: ServerFrame): void {
    const request = this.pending.get(frame.id);
    if (request === undefined) {
      return;
    }
    switch (frame.kind) {
      case 'chunk':
        request.onChunk(frame.data);
        break;
      case 'result':
        request.settle(undefined, frame.result);
        break;
      case 'error':
        request.settle(new IpcRemoteError(frame.error));
        break;
    }
  }

  private handleClose(): void {
    this.closed = true;
    const error = new IpcConnectionClosedError(this.socketPath);
    for (const request of [...this.pending.values()]) {
      request.settle(error);
    }
    this.pending.clear();
    for (const listener of this.closeListeners) {
      listener();
    }
  }
}
