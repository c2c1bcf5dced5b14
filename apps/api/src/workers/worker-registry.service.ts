import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { IpcClient, WORKER_SOCKET_SUFFIX, type WorkerProtocol, type WorkerStatus } from '@mlx-omni/ipc';
import { ApiError } from '../common/errors/api-error';

/** How often the socket folder is listed and each worker asked for its status. */
const HEARTBEAT_MS = 1_000;
/** A worker that has not answered for this long is considered down, even if its socket is open. */
const STALE_AFTER_MS = 5_000;

export interface WorkerEntry {
  workerId: string;
  /** Where it listens; undefined for a worker attached in this process, which cannot be reconnected. */
  socketPath: string | undefined;
  client: IpcClient<WorkerProtocol> | undefined;
  status: WorkerStatus | undefined;
  lastSeenAt: number | undefined;
  /** The state last logged, so each change is logged once: up, down, up again. */
  reportedUp: boolean;
  /** Why the last heartbeat failed, for the "down" line. */
  lastFault: string | undefined;
  /** Status calls of the registry's own in flight: they are not work, and must not count against the worker's limit. */
  heartbeatsInFlight: number;
}

/**
 * Which workers exist, whether each is up, what it holds and how busy it is. Workers are found by
 * their sockets in the configured folder, so any number of API processes can share them, and the
 * registry keeps working while Redis is down.
 */
@Injectable()
export class WorkerRegistryService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerRegistryService.name);
  private readonly entries = new Map<string, WorkerEntry>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(@Inject(OMNI_CONFIG) private readonly config: OmniConfig) {}

  onModuleInit(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /**
   * A shutdown hook, not a destroy hook: Nest runs destroy hooks before it closes the HTTP server,
   * which would cut the worker connections under the streams that draining lets finish.
   */
  onApplicationShutdown(): void {
    clearInterval(this.timer);
    for (const entry of this.entries.values()) {
      entry.client?.close();
    }
  }

  /** Every worker seen since start, up or not, so a crashed one shows as down rather than vanishing. */
  list(): WorkerEntry[] {
    return [...this.entries.values()].sort((a, b) => a.workerId.localeCompare(b.workerId));
  }

  isUp(entry: WorkerEntry, now = Date.now()): boolean {
    return entry.client !== undefined && !entry.client.isClosed && entry.lastSeenAt !== undefined && now - entry.lastSeenAt < STALE_AFTER_MS;
  }

  /** Up and not draining: may be given new work. */
  isAvailable(entry: WorkerEntry): boolean {
    return this.isUp(entry) && entry.status?.draining !== true;
  }

  upCount(): number {
    return this.list().filter((entry) => this.isUp(entry)).length;
  }

  /**
   * Requests the API has sent the worker and not seen answered, less the registry's own status calls:
   * a worker busy with a long prefill answers its heartbeat late, and that call once took the last of
   * 16 places from the 16th of 16 concurrent streams.
   */
  requestsInFlight(entry: WorkerEntry): number {
    return (entry.client?.inFlight ?? 0) - entry.heartbeatsInFlight;
  }

  /**
   * The worker a request should go to: one that already holds the model if any, else the least
   * busy. Answers 503 with Retry-After when none can take more work, instead of piling it up.
   */
  pick(modelId?: string): { workerId: string; client: IpcClient<WorkerProtocol> } {
    const load = (entry: WorkerEntry): number => this.requestsInFlight(entry);
    const candidates = this.list()
      .filter((entry) => this.isAvailable(entry) && load(entry) < (entry.status?.maxPending ?? this.config.workerMaxPending))
      .sort((a, b) => {
        const holds = (entry: WorkerEntry): number => (entry.status?.loadedModels.some((model) => model.id === modelId) ? 0 : 1);
        return holds(a) - holds(b) || load(a) - load(b);
      });
    const chosen = candidates[0];
    if (chosen === undefined) {
      const anyUp = this.list().some((entry) => this.isAvailable(entry));
      throw new ApiError(503, anyUp ? 'All inference workers are busy; retry shortly' : 'No inference worker is available; retry shortly', {
        code: anyUp ? 'workers_busy' : 'no_worker_available',
        headers: { 'retry-after': '1' },
      });
    }
    return { workerId: chosen.workerId, client: chosen.client! };
  }

  /**
   * Adds a worker running in this process, reached over an in-memory channel instead of a socket
   * (the in-process test server), and asks it for its status once so it is up at once.
   */
  async attach(workerId: string, client: IpcClient<WorkerProtocol>): Promise<void> {
    const entry: WorkerEntry = { workerId, socketPath: undefined, client, status: undefined, lastSeenAt: undefined, reportedUp: false, lastFault: undefined, heartbeatsInFlight: 0 };
    client.onClose(() => {
      entry.lastFault = 'its connection closed';
    });
    this.entries.set(workerId, entry);
    await this.heartbeat(entry);
    this.logChanges();
  }

  /** Runs one discovery + heartbeat round; overlapping timer ticks share the round in flight. */
  refresh(): Promise<void> {
    this.refreshing ??= this.discoverAndPoll().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async discoverAndPoll(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.config.workerSocketDir);
    } catch {
      // The folder appears when the first worker starts.
      names = [];
    }
    const sockets = new Set(names.filter((name) => name.endsWith(WORKER_SOCKET_SUFFIX)).map((name) => join(this.config.workerSocketDir, name)));
    // A worker whose socket file vanished (removed by hand, or by a process that had no business
    // doing so) is still reachable over the connection already open; keep asking it.
    const attached: WorkerEntry[] = [];
    for (const entry of this.entries.values()) {
      if (entry.socketPath === undefined) {
        attached.push(entry);
      } else if (entry.client !== undefined && !entry.client.isClosed) {
        sockets.add(entry.socketPath);
      }
    }
    await Promise.all([...[...sockets].map((socketPath) => this.poll(socketPath)), ...attached.map((entry) => this.heartbeat(entry))]);
    this.logChanges();
  }

  /** One line per change, so an operator sees a worker go down and come back rather than only 503s. */
  private logChanges(): void {
    for (const entry of this.entries.values()) {
      const up = this.isUp(entry);
      if (up === entry.reportedUp) {
        continue;
      }
      entry.reportedUp = up;
      if (up) {
        this.logger.log({ workerId: entry.workerId, device: entry.status?.device, workerPid: entry.status?.pid }, 'Worker up');
      } else {
        const reason = entry.lastFault ?? `no answer for ${STALE_AFTER_MS / 1000} s`;
        this.logger.warn({ workerId: entry.workerId, workerPid: entry.status?.pid, reason }, `Worker down: ${reason}`);
      }
    }
  }

  private async poll(socketPath: string): Promise<void> {
    const workerId = basename(socketPath, WORKER_SOCKET_SUFFIX);
    let entry = this.entries.get(workerId);
    if (entry === undefined) {
      entry = { workerId, socketPath, client: undefined, status: undefined, lastSeenAt: undefined, reportedUp: false, lastFault: undefined, heartbeatsInFlight: 0 };
      this.entries.set(workerId, entry);
    }
    if (entry.client === undefined || entry.client.isClosed) {
      try {
        entry.client = await IpcClient.connect<WorkerProtocol>(socketPath, HEARTBEAT_MS);
      } catch (error) {
        // A socket file left by a crashed worker refuses connections until the supervisor restarts it.
        entry.lastFault ??= error instanceof Error ? error.message : String(error);
        return;
      }
      const client = entry.client;
      const polled = entry;
      client.onClose(() => {
        if (polled.client === client) {
          polled.client = undefined;
          polled.lastFault = 'its connection closed';
        }
      });
    }
    await this.heartbeat(entry);
  }

  /** Asks a connected worker for its status; one that does not answer goes stale, then down. */
  private async heartbeat(entry: WorkerEntry): Promise<void> {
    if (entry.client === undefined || entry.client.isClosed) {
      return;
    }
    entry.heartbeatsInFlight++;
    try {
      entry.status = await entry.client.call('status', {}, { timeoutMs: STALE_AFTER_MS });
      entry.lastSeenAt = Date.now();
      entry.lastFault = undefined;
    } catch (error) {
      entry.lastFault ??= error instanceof Error ? error.message : String(error);
    } finally {
      entry.heartbeatsInFlight--;
    }
  }
}
