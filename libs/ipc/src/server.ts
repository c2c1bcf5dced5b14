import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { IpcHandlerError } from './errors';
import { encodeFrame, readFrames, type ClientFrame, type IpcErrorPayload, type ServerFrame } from './frames';
import type { IpcHandlers, IpcProtocol } from './protocol';

export interface IpcServerOptions<P extends IpcProtocol> {
  handlers: IpcHandlers<P>;
  /** Called for handler faults that become 500s, so they are logged once where they happen. */
  onHandlerFault?: (method: string, error: unknown) => void;
  /**
   * Methods that are not work (a heartbeat's `status`): `activeRequests` leaves them out, so a
   * heartbeat that arrives with a burst never takes a place under a request limit.
   */
  uncounted?: readonly string[];
}

class StreamCredit {
  private available: number;
  /** Every sender waiting for credit: a request's choices send concurrently. Each re-checks when woken. */
  private waiters: Array<() => void> = [];

  constructor(initial: number) {
    this.available = initial;
  }

  grant(amount: number): void {
    this.available += amount;
    this.wake();
  }

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      waiter();
    }
  }

  async take(signal: AbortSignal): Promise<void> {
    while (this.available <= 0) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
      });
    }
    signal.throwIfAborted();
    this.available -= 1;
  }
}

interface ActiveRequest {
  abort: AbortController;
  credit?: StreamCredit;
  /** Not in `uncounted`. */
  counted: boolean;
}

/** One client connection: demultiplexes its frames into handler calls and writes their answers. */
class ServerConnection<P extends IpcProtocol> {
  private readonly active = new Map<number, ActiveRequest>();

  constructor(
    private readonly socket: Duplex,
    private readonly options: IpcServerOptions<P>,
  ) {
    readFrames(socket, (frame) => this.dispatch(frame as ClientFrame));
    socket.on('close', () => this.abortAll());
    // A peer that vanishes mid-write raises EPIPE/ECONNRESET; 'close' follows and aborts its requests.
    socket.on('error', () => undefined);
  }

  get activeRequests(): number {
    let counted = 0;
    for (const request of this.active.values()) {
      counted += request.counted ? 1 : 0;
    }
    return counted;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private dispatch(frame: ClientFrame): void {
    switch (frame.kind) {
      case 'call':
        this.runUnary(frame.id, frame.method, frame.params);
        break;
      case 'stream':
        this.runStream(frame.id, frame.method, frame.params, frame.window);
        break;
      case 'credit':
        this.active.get(frame.id)?.credit?.grant(frame.amount);
        break;
      case 'cancel': {
        const request = this.active.get(frame.id);
        request?.abort.abort();
        request?.credit?.wake();
        break;
      }
    }
  }

  private runUnary(id: number, method: string, params: unknown): void {
    const handler = (this.options.handlers.unary as Record<string, (p: unknown, c: unknown) => Promise<unknown>>)[method];
    const request: ActiveRequest = { abort: new AbortController(), counted: this.counts(method) };
    this.active.set(id, request);
    void this.settle(id, method, handler, () => handler(params, { signal: request.abort.signal }));
  }

  private runStream(id: number, method: string, params: unknown, window: number): void {
    const handler = (this.options.handlers.stream as Record<string, (p: unknown, c: unknown) => Promise<unknown>>)[method];
    const request: ActiveRequest = { abort: new AbortController(), credit: new StreamCredit(window), counted: this.counts(method) };
    this.active.set(id, request);
    const signal = request.abort.signal;
    const send = async (data: unknown): Promise<void> => {
      await request.credit!.take(signal);
      await this.write({ kind: 'chunk', id, data });
    };
    void this.settle(id, method, handler, () => handler(params, { signal, send }));
  }

  private counts(method: string): boolean {
    return !(this.options.uncounted ?? []).includes(method);
  }

  private async settle(
    id: number,
    method: string,
    handler: unknown,
    run: () => Promise<unknown>,
  ): Promise<void> {
    try {
      if (typeof handler !== 'function') {
        throw new IpcHandlerError({ message: `Unknown worker method "${method}"`, code: 'unknown_method', status: 500 });
      }
      const result = await run();
      await this.write({ kind: 'result', id, result: result ?? null });
    } catch (error) {
      if (!this.socket.destroyed) {
        await this.write({ kind: 'error', id, error: this.describe(method, error) });
      }
    } finally {
      this.active.delete(id);
    }
  }

  private describe(method: string, error: unknown): IpcErrorPayload {
    if (error instanceof IpcHandlerError) {
      return error.payload;
    }
    if (error instanceof Error && error.name === 'AbortError') {
      return { message: 'Request cancelled', code: 'cancelled', status: 499 };
    }
    this.options.onHandlerFault?.(method, error);
    return { message: error instanceof Error ? error.message : String(error), code: 'internal_error', status: 500 };
  }

  private write(frame: ServerFrame): Promise<void> {
    if (this.socket.destroyed) {
      return Promise.resolve();
    }
    if (this.socket.write(encodeFrame(frame))) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  private abortAll(): void {
    for (const request of this.active.values()) {
      request.abort.abort();
      request.credit?.wake();
    }
  }
}

/** Whether a process accepts connections on the socket (a file left by a crashed one refuses them). */
function isListening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** The socket path is served by a live process: taking it over would cut that process off from its clients. */
export class SocketInUseError extends Error {
  readonly code = 'EADDRINUSE';

  constructor(readonly socketPath: string) {
    super(`another process is listening on ${socketPath}`);
    this.name = 'SocketInUseError';
  }
}

/** The worker's end of the channel: a Unix socket server that runs typed handlers per request. */
export class IpcServer<P extends IpcProtocol> {
  private server: Server | undefined;
  /** The socket file this server put in place (path and inode), the only one it may remove. */
  private socketFile: { path: string; ino: number } | undefined;
  private readonly connections = new Set<ServerConnection<P>>();

  constructor(private readonly options: IpcServerOptions<P>) {}

  /** Requests being handled across all connections right now, less `uncounted` methods. */
  get activeRequests(): number {
    let total = 0;
    for (const connection of this.connections) {
      total += connection.activeRequests;
    }
    return total;
  }

  /**
   * Listens on `socketPath`, replacing a file a crashed predecessor left there, but never the socket
   * of a process that still listens (SocketInUseError). Node removes a socket's file when its server
   * closes, whoever's file is there by then; so the server binds a private name and renames it into
   * place, and only this server's own file is removed at close.
   */
  async listen(socketPath: string): Promise<void> {
    if (await isListening(socketPath)) {
      throw new SocketInUseError(socketPath);
    }
    const bindPath = join(dirname(socketPath), `.${basename(socketPath)}.${randomBytes(4).toString('hex')}`);
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(bindPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    try {
      await rename(bindPath, socketPath);
    } catch (error) {
      server.close();
      await rm(bindPath, { force: true });
      throw error;
    }
    this.socketFile = { path: socketPath, ino: statSync(socketPath).ino };
  }

  /** Serves one connection: a socket the listener accepted, or one end of `memoryChannel()` for a client in this process. */
  accept(stream: Duplex): void {
    const connection = new ServerConnection(stream, this.options);
    this.connections.add(connection);
    stream.on('close', () => this.connections.delete(connection));
  }

  /** Stops accepting connections (and removes its socket file); open ones keep being served until `close`. */
  stopAccepting(): void {
    this.server?.close();
    this.server = undefined;
    this.removeOwnSocketFile();
  }

  private removeOwnSocketFile(): void {
    const file = this.socketFile;
    this.socketFile = undefined;
    if (file === undefined) {
      return;
    }
    try {
      if (statSync(file.path).ino === file.ino) {
        rmSync(file.path);
      }
    } catch {
      // Already gone.
    }
  }

  close(): void {
    this.stopAccepting();
    for (const connection of this.connections) {
      connection.destroy();
    }
  }
}
