import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@mlx-omni/config';
import { IpcServer, type WorkerProtocol, type WorkerStatus } from '@mlx-omni/ipc';
import { ApiError } from '../common/errors/api-error';
import { WorkerRegistryService } from './worker-registry.service';

/** Real sockets and the real client; only the status each worker reports is made up for the routing cases. */
function statusOf(workerId: string, overrides: Partial<WorkerStatus> = {}): WorkerStatus {
  return {
    workerId,
    pid: 1,
    device: 'cpu',
    deviceInfo: {},
    startedAt: new Date().toISOString(),
    draining: false,
    activeRequests: 0,
    maxPending: 4,
    loadedModels: [],
    modelPool: { budgetBytes: 100, usedBytes: 0, evictions: { lru: 0, ttl: 0, admin: 0 } },
    memory: { rssBytes: 1, heapUsedBytes: 1, mlxActiveBytes: 0, mlxPeakBytes: 0, mlxCacheBytes: 0 },
    ...overrides,
  };
}

const neverGenerates = async (): Promise<never> => {
  throw new Error('routing tests never generate');
};

describe('WorkerRegistryService', () => {
  const servers: IpcServer<WorkerProtocol>[] = [];
  let socketDir: string;
  let registry: WorkerRegistryService;

  async function startWorker(workerId: string, status: () => WorkerStatus | Promise<WorkerStatus>): Promise<IpcServer<WorkerProtocol>> {
    const server = new IpcServer<WorkerProtocol>({
      handlers: {
        unary: {
          ping: async () => ({ workerId, at: Date.now() }),
          status: async () => status(),
          'model.load': neverGenerates,
          'model.unload': neverGenerates,
          'chat.count_tokens': neverGenerates,
          'embeddings.create': neverGenerates,
          rerank: neverGenerates,
          'job.cancel': neverGenerates,
        },
        stream: {
          'chat.generate': neverGenerates,
          'text.generate': neverGenerates,
          'audio.transcribe': neverGenerates,
        },
      },
    });
    await server.listen(join(socketDir, `${workerId}.sock`));
    servers.push(server);
    return server;
  }

  beforeEach(() => {
    socketDir = mkdtempSync(join(tmpdir(), 'registry-'));
    registry = new WorkerRegistryService(loadConfig({ MLX_OMNI_WORKER_SOCKET_DIR: socketDir }));
  });

  afterEach(() => {
    registry.onApplicationShutdown();
    servers.splice(0).forEach((server) => server.close());
  });

  it('answers 503 no_worker_available with Retry-After when no worker is there', async () => {
    await registry.refresh();
    expect(() => registry.pick()).toThrow(ApiError);
    try {
      registry.pick();
    } catch (error) {
      expect((error as ApiError).status).toBe(503);
      expect((error as ApiError).code).toBe('no_worker_available');
      expect((error as ApiError).headers['retry-after']).toBe('1');
    }
  });

  it('discovers workers by socket and prefers the one that holds the model', async () => {
    await startWorker('worker-1', () => statusOf('worker-1'));
    await startWorker('worker-2', () =>
      statusOf('worker-2', {
        loadedModels: [
          { id: 'org/model', path: '/m', loadedAt: new Date().toISOString(), sizeBytes: 10, loadSeconds: 1, pinned: false, activeRequests: 0, lastUsedAt: new Date().toISOString() },
        ],
      }),
    );
    await registry.refresh();
    expect(registry.upCount()).toBe(2);
    expect(registry.pick('org/model').workerId).toBe('worker-2');
    expect(registry.pick('other/model').workerId).toBe('worker-1');
  });

  it('does not count its own unanswered status call against the worker\'s request limit', async () => {
    let answered = 0;
    let release: (() => void) | undefined;
    await startWorker('worker-1', async () => {
      // The first status answers; the next one hangs, as a heartbeat does while a worker runs a long prefill.
      if (answered++ > 0) {
        await new Promise<void>((resolve) => (release = resolve));
      }
      return statusOf('worker-1', { maxPending: 1 });
    });
    await registry.refresh();
    const hanging = registry.refresh();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(release).toBeDefined();
    expect(registry.pick().workerId).toBe('worker-1');
    expect(registry.requestsInFlight(registry.list()[0])).toBe(0);
    release?.();
    await hanging;
  });

  it('routes nothing to a draining worker and marks a closed one down', async () => {
    const first = await startWorker('worker-1', () => statusOf('worker-1', { draining: true }));
    await startWorker('worker-2', () => statusOf('worker-2'));
    await registry.refresh();
    expect(registry.pick().workerId).toBe('worker-2');
    first.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const entry = registry.list().find((worker) => worker.workerId === 'worker-1')!;
    expect(registry.isUp(entry)).toBe(false);
    expect(registry.upCount()).toBe(1);
  });
});
