import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { IpcHandlerError, IpcServer, WORKER_SOCKET_SUFFIX, type WorkerProtocol } from '@mlx-omni/ipc';
import { ChatGenerationService } from '../chat/chat-generation.service';
import { TextGenerationService } from '../completions/text-generation.service';
import { EmbeddingsService } from '../embeddings/embeddings.service';
import { JobCancellation } from '../jobs/job-cancellation';
import { ModelPoolService } from '../models/model-pool.service';
import { WorkerStatusService } from '../status/worker-status.service';
import { TranscriptionService } from '../transcription/transcription.service';

/**
 * How the API reaches this worker: its Unix socket (a worker process), or connections handed to
 * `serve` (a worker in the API's own process, over `memoryChannel()`).
 */
export type WorkerTransport = 'socket' | 'memory';
export const WORKER_TRANSPORT = Symbol('WORKER_TRANSPORT');

/** Serves the direct API ⇄ worker channel on this worker's Unix socket, or on in-memory connections. */
@Injectable()
export class WorkerChannelService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerChannelService.name);
  private readonly server: IpcServer<WorkerProtocol>;

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    @Inject(WORKER_TRANSPORT) private readonly transport: WorkerTransport,
    private readonly status: WorkerStatusService,
    chat: ChatGenerationService,
    text: TextGenerationService,
    embeddings: EmbeddingsService,
    transcription: TranscriptionService,
    pool: ModelPoolService,
    jobs: JobCancellation,
  ) {
    this.server = new IpcServer<WorkerProtocol>({
      onHandlerFault: (method, error) => this.logger.error({ method, err: error }, 'IPC handler failed'),
      // The API's heartbeat arrives while a long prefill blocks this loop, in the same read as a burst's
      // requests: counted, it took the last of 16 places from the 16th of 16 concurrent streams.
      uncounted: ['ping', 'status'],
      handlers: {
        unary: {
          ping: async () => ({ workerId: this.config.workerId, at: Date.now() }),
          status: async () => this.status.snapshot(this.server.activeRequests),
          'model.load': async ({ id, path }) => pool.load(id, path),
          'model.unload': async ({ id }) => ({ unloaded: pool.unload(id) }),
          'chat.count_tokens': async (params) => {
            this.admit();
            return chat.countTokens(params);
          },
          'embeddings.create': async (params, ctx) => {
            this.admit();
            return embeddings.create(params, ctx);
          },
          rerank: async (params, ctx) => {
            this.admit();
            return embeddings.rerank(params, ctx);
          },
          'job.cancel': async ({ jobId, reason }) => ({ cancelled: jobs.cancel(jobId, reason) }),
        },
        stream: {
          'chat.generate': async (params, ctx) => {
            this.admit();
            return chat.generate(params, ctx);
          },
          'text.generate': async (params, ctx) => {
            this.admit();
            return text.generate(params, ctx);
          },
          'audio.transcribe': async (params, ctx) => {
            this.admit();
            return transcription.transcribe(params, ctx);
          },
        },
      },
    });
  }

  /**
   * The worker's own bound, behind the API's: a second API process, or a race between two, cannot
   * pile more work on it than `workerMaxPending`; a draining worker takes nothing new.
   */
  private admit(): void {
    if (this.status.isDraining) {
      throw new IpcHandlerError({ message: 'This worker is shutting down; retry shortly', code: 'worker_draining', status: 503 });
    }
    // The request being admitted is already counted.
    if (this.server.activeRequests > this.config.workerMaxPending) {
      throw new IpcHandlerError({ message: 'This worker is at its request limit; retry shortly', code: 'workers_busy', status: 503 });
    }
  }

  get socketPath(): string {
    return join(this.config.workerSocketDir, `${this.config.workerId}${WORKER_SOCKET_SUFFIX}`);
  }

  /** Serves one in-memory connection from an API in this process. */
  serve(connection: Duplex): void {
    this.server.accept(connection);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.transport === 'memory') {
      return;
    }
    await mkdir(this.config.workerSocketDir, { recursive: true });
    await this.server.listen(this.socketPath);
    this.logger.log({ socket: this.socketPath }, 'Listening for the API');
  }

  /** Requests still running; shutdown waits for this to reach zero. */
  get activeRequests(): number {
    return this.server.activeRequests;
  }

  onApplicationShutdown(): void {
    this.server.close();
  }
}
