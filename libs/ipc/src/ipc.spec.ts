import { existsSync, mkdtempSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcClient } from './client';
import { IpcConnectionClosedError, IpcHandlerError, IpcRemoteError } from './errors';
import { encodeFrame, FrameDecoder } from './frames';
import { memoryChannel } from './memory-channel';
import type { IpcProtocol, StreamMethod, UnaryMethod } from './protocol';
import { IpcServer, SocketInUseError } from './server';

interface TestProtocol extends IpcProtocol {
  unary: {
    add: UnaryMethod<{ a: number; b: number }, number>;
    busy: UnaryMethod<Record<string, never>, never>;
    crash: UnaryMethod<Record<string, never>, never>;
    hang: UnaryMethod<Record<string, never>, never>;
  };
  stream: {
    count: StreamMethod<{ to: number }, number, { sent: number }>;
    /** Two senders at once, as a request's choices stream concurrently. */
    countTwice: StreamMethod<{ to: number }, number, { sent: number }>;
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The same protocol over both transports: a worker's Unix socket, and the in-memory channel of an in-process worker. */
const TRANSPORTS = {
  'a Unix socket': async (server: IpcServer<TestProtocol>): Promise<IpcClient<TestProtocol>> => {
    const socketPath = join(mkdtempSync(join(tmpdir(), 'ipc-')), 'w.sock');
    await server.listen(socketPath);
    return IpcClient.connect<TestProtocol>(socketPath);
  },
  'an in-memory channel': async (server: IpcServer<TestProtocol>): Promise<IpcClient<TestProtocol>> => {
    const [clientEnd, serverEnd] = memoryChannel();
    server.accept(serverEnd);
    return IpcClient.over<TestProtocol>(clientEnd, 'memory:test');
  },
};

describe.each(Object.entries(TRANSPORTS))('IPC channel over %s', (_transport, connect) => {
  let server: IpcServer<TestProtocol>;
  let client: IpcClient<TestProtocol>;
  const streamProgress = { sent: 0, aborted: false };
  const faults: string[] = [];

  beforeEach(async () => {
    streamProgress.sent = 0;
    streamProgress.aborted = false;
    server = new IpcServer<TestProtocol>({
      onHandlerFault: (method) => faults.push(method),
      handlers: {
        unary: {
          add: async ({ a, b }) => a + b,
          busy: async () => {
            throw new IpcHandlerError({ message: 'queue full', code: 'worker_busy', status: 503 });
          },
          crash: async () => {
            throw new Error('boom');
          },
          hang: (_params, { signal }) =>
            new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        },
        stream: {
          count: async ({ to }, { send, signal }) => {
            signal.addEventListener('abort', () => {
              streamProgress.aborted = true;
            });
            for (let i = 0; i < to; i++) {
              await send(i);
              streamProgress.sent = i + 1;
            }
            return { sent: to };
          },
          countTwice: async ({ to }, { send }) => {
            const sender = async (offset: number) => {
              for (let i = 0; i < to; i++) {
                await send(offset + i);
              }
            };
            await Promise.all([sender(0), sender(to)]);
            return { sent: 2 * to };
          },
        },
      },
    });
    client = await connect(server);
  });

  afterEach(() => {
    client.close();
    server.close();
  });

  it('answers unary calls, many at once, each to its own request', async () => {
    const sums = await Promise.all(Array.from({ length: 50 }, (_, i) => client.call('add', { a: i, b: 1000 })));
    expect(sums).toEqual(Array.from({ length: 50 }, (_, i) => i + 1000));
  });

  it('carries a handler-chosen status and code, and turns other faults into internal_error', async () => {
    await expect(client.call('busy', {})).rejects.toMatchObject({ status: 503, code: 'worker_busy' });
    const crash = client.call('crash', {});
    await expect(crash).rejects.toBeInstanceOf(IpcRemoteError);
    await expect(crash).rejects.toMatchObject({ status: 500, code: 'internal_error', message: 'boom' });
    expect(faults).toContain('crash');
  });

  it('streams every chunk in order and then the result', async () => {
    const stream = client.stream('count', { to: 200 }, { window: 8 });
    const received: number[] = [];
    for await (const n of stream) {
      received.push(n);
    }
    expect(received).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await expect(stream.result).resolves.toEqual({ sent: 200 });
  });

  it('delivers every chunk of concurrent senders through a small window, a slow reader waking all of them', async () => {
    const stream = client.stream('countTwice', { to: 50 }, { window: 2 });
    const received: number[] = [];
    for await (const n of stream) {
      received.push(n);
      await tick();
    }
    expect(received.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await expect(stream.result).resolves.toEqual({ sent: 100 });
  });

  it('holds the worker back when the consumer does not read (backpressure)', async () => {
    const stream = client.stream('count', { to: 1000 }, { window: 4 });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    for (let i = 0; i < 50; i++) {
      await tick();
    }
    // One window ahead at most: the producer is parked until credit comes back.
    expect(streamProgress.sent).toBeLessThanOrEqual(4);
    await iterator.return?.();
  });

  it('cancels the worker side when the consumer leaves the loop early', async () => {
    const stream = client.stream('count', { to: 100_000 }, { window: 4 });
    for await (const n of stream) {
      if (n === 10) {
        break;
      }
    }
    for (let i = 0; i < 20 && !streamProgress.aborted; i++) {
      await tick();
    }
    expect(streamProgress.aborted).toBe(true);
    expect(streamProgress.sent).toBeLessThan(100);
  });

  it('cancels a call when its AbortSignal fires', async () => {
    const controller = new AbortController();
    const pending = client.call('hang', {}, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow(/abort/i);
    for (let i = 0; i < 20 && server.activeRequests > 0; i++) {
      await tick();
    }
    expect(server.activeRequests).toBe(0);
  });

  it('fails pending requests at once when the worker goes away', async () => {
    const pending = client.call('hang', {});
    const stream = client.stream('count', { to: 1_000_000 }, { window: 2 });
    await tick();
    server.close();
    await expect(pending).rejects.toBeInstanceOf(IpcConnectionClosedError);
    await expect(stream.result).rejects.toBeInstanceOf(IpcConnectionClosedError);
    await expect(client.call('add', { a: 1, b: 2 })).rejects.toBeInstanceOf(IpcConnectionClosedError);
  });
});

describe('IpcServer and its socket file', () => {
  const adder = (): IpcServer<TestProtocol> =>
    new IpcServer<TestProtocol>({
      handlers: {
        unary: {
          add: async ({ a, b }) => a + b,
          busy: async () => 0 as never,
          crash: async () => 0 as never,
          hang: async () => 0 as never,
        },
        stream: { count: async () => ({ sent: 0 }), countTwice: async () => ({ sent: 0 }) },
      },
    });
  const answers = async (path: string): Promise<boolean> => {
    const client = await IpcClient.connect<TestProtocol>(path);
    try {
      return (await client.call('add', { a: 1, b: 1 })) === 2;
    } finally {
      client.close();
    }
  };

  it('refuses a socket path a live server listens on, leaving that server reachable', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ipc-own-')), 'w.sock');
    const first = adder();
    await first.listen(path);
    const second = adder();
    await expect(second.listen(path)).rejects.toBeInstanceOf(SocketInUseError);
    expect(await answers(path)).toBe(true);
    first.close();
    expect(existsSync(path)).toBe(false);
  });

  it('replaces a file a crashed server left, and at close removes only its own socket file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipc-own-'));
    const path = join(dir, 'w.sock');
    writeFileSync(path, 'left behind');
    const first = adder();
    await first.listen(path);
    expect(statSync(path).isSocket()).toBe(true);
    expect(await answers(path)).toBe(true);

    // Someone moves the first server's file away and another server takes the path.
    renameSync(path, join(dir, 'moved.sock'));
    const second = adder();
    await second.listen(path);
    first.close();
    expect(existsSync(path)).toBe(true);
    expect(await answers(path)).toBe(true);
    second.close();
    expect(existsSync(path)).toBe(false);
  });
});

describe('FrameDecoder', () => {
  it('reassembles frames split and merged arbitrarily', () => {
    const frames = [
      { kind: 'chunk', id: 1, data: 'héllo 👋' },
      { kind: 'result', id: 2, result: { big: 'x'.repeat(10_000) } },
    ] as const;
    const bytes = Buffer.concat(frames.map((frame) => encodeFrame(frame)));
    const decoder = new FrameDecoder();
    const out: unknown[] = [];
    for (let i = 0; i < bytes.length; i += 7) {
      out.push(...decoder.push(bytes.subarray(i, i + 7)));
    }
    expect(out).toEqual(frames);
  });

  it('rejects a length prefix beyond the frame limit instead of buffering it', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff, 0);
    expect(() => new FrameDecoder().push(header)).toThrow(/exceeds/);
  });
});

describe('IpcServer.activeRequests', () => {
  it('leaves out the methods named uncounted (a heartbeat), and counts the rest while they run', async () => {
    const releases: Array<() => void> = [];
    const unused = async (): Promise<never> => {
      throw new Error('unused');
    };
    const pending = <T>(value: T) => new Promise<T>((resolve) => releases.push(() => resolve(value)));
    const server = new IpcServer<TestProtocol>({
      uncounted: ['add'],
      handlers: {
        unary: { add: () => pending(0), busy: unused, crash: unused, hang: () => pending(undefined as never) },
        stream: { count: unused, countTwice: unused },
      },
    });
    const [clientEnd, serverEnd] = memoryChannel();
    server.accept(serverEnd);
    const client = IpcClient.over<TestProtocol>(clientEnd, 'memory:count');
    const calls = [client.call('add', { a: 1, b: 2 }), client.call('hang', {})];
    await tick();
    expect(releases).toHaveLength(2);
    expect(server.activeRequests).toBe(1);
    releases.forEach((release) => release());
    await Promise.all(calls);
    expect(server.activeRequests).toBe(0);
    client.close();
    server.close();
  });
});
