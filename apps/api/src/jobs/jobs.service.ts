import { getQueueToken } from '@nestjs/bullmq';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Job, Queue } from 'bullmq';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Caller } from '@mlx-omni/api-keys';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import {
  JOB_OWNER_FIELD,
  jobOwner,
  QUEUE_NAMES,
  QUEUE_SETTINGS,
  readJobError,
  RedisLinkMonitor,
  type JobName,
  type JobPayload,
  type QueueName,
} from '@mlx-omni/jobs';
import { CallerContext } from '../auth/caller-context';
import { ApiError } from '../common/errors/api-error';
import { REDIS_CLIENT } from '../redis/redis.module';
import { WorkerRegistryService } from '../workers/worker-registry.service';
import { LISTED_JOB_STATES, type JobDeletedResponseDto, type JobListQueryDto, type JobResponseDto, type JobState } from './dto/job-response.dto';
import { unixSeconds } from '../common/unix-seconds';

/** The longest a job route waits on Redis before answering 503: a route must never hang on a dead Redis. */
const REDIS_DEADLINE_MS = 3_000;
/** How long a DELETE waits for a running job's worker to stop it. */
const CANCEL_WAIT_MS = 10_000;
/** How often a request waiting for its job looks at the job's state. */
const JOB_POLL_MS = 250;
/**
 * ioredis's refusal of a command while its connection is (re)connecting and the offline queue is off:
 * the command was never sent, so it is safe to try again. Each BullMQ queue has its own connection,
 * which comes back a moment after the client that says Redis is reachable.
 */
const NOT_SENT = /Stream isn't writeable/;
const RESEND_MS = 200;

/** Redis answered with an error or is unreachable: the queue-backed route answers 503, never hangs. */
function queueUnavailable(error: unknown): ApiError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ApiError(503, `The job queue is unavailable (${reason}); retry shortly`, {
    code: 'queue_unavailable',
    headers: { 'retry-after': '2' },
  });
}

class DeadlineError extends Error {}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`Redis did not answer ${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Enqueues long jobs, reports on them, lists and cancels them. Processors live in the inference workers. */
@Injectable()
export class JobsService implements OnModuleInit {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly link: RedisLinkMonitor,
    private readonly callers: CallerContext,
    private readonly workers: WorkerRegistryService,
  ) {}

  /** Queue providers come from async factories, so they are looked up once the module is built. */
  onModuleInit(): void {
    for (const name of QUEUE_NAMES) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      this.link.absorb(queue);
      this.queues.set(name, queue);
    }
  }

  queue(name: QueueName): Queue {
    return this.queues.get(name)!;
  }

  /**
   * Runs one piece of queue work against Redis, or answers 503 at once when the API's Redis link is
   * down and within REDIS_DEADLINE_MS when Redis stops answering. Checking the link first matters:
   * BullMQ holds a command issued before its first connection until Redis appears, so a job added
   * then would be queued long after its request had been answered 503.
   */
  private async onRedis<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') {
      throw queueUnavailable(new Error(`Redis is not connected (${this.redis.status})`));
    }
    const deadline = Date.now() + REDIS_DEADLINE_MS;
    for (;;) {
      try {
        return await withDeadline(work(), deadline - Date.now(), what);
      } catch (error) {
        if (error instanceof ApiError) {
          throw error;
        }
        if (!(error instanceof Error && NOT_SENT.test(error.message)) || Date.now() + RESEND_MS >= deadline) {
          throw queueUnavailable(error);
        }
      }
      await sleep(RESEND_MS);
    }
  }

  /** A given `jobId` deduplicates: while a job with that id exists, BullMQ returns it instead of adding another. */
  enqueue<Q extends QueueName, N extends JobName<Q>>(queueName: Q, jobName: N, payload: JobPayload<Q, N>, jobId: string = randomUUID()): Promise<Job> {
    const settings = QUEUE_SETTINGS[queueName];
    const owner = this.callers.current()?.name ?? null;
    return this.onRedis('the enqueue', () =>
      this.queue(queueName).add(jobName, { ...(payload as object), [JOB_OWNER_FIELD]: owner }, {
        jobId,
        attempts: settings.attempts,
        backoff: { type: 'exponential', delay: settings.backoffMs },
        // Finished jobs stay visible for a day so clients can fetch results, then Redis forgets them.
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      }),
    );
  }

  /**
   * Waits up to `timeoutMs` for the job to finish; returns its state either way (never throws on
   * timeout). It polls the job's state rather than holding a BullMQ event stream: a stream needs a
   * connection that waits forever for Redis, and a request must not.
   */
  async waitFor(job: Job, timeoutMs: number): Promise<JobResponseDto> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.find(job.id!);
      if (state === undefined) {
        throw queueUnavailable(new Error(`job ${job.id} vanished from Redis`));
      }
      if (state.status === 'completed' || state.status === 'failed' || Date.now() >= deadline) {
        return state;
      }
      await sleep(Math.min(JOB_POLL_MS, deadline - Date.now()));
    }
  }

  /**
   * Runs a long job for a request: enqueues it and waits up to MLX_OMNI_JOB_WAIT_S. A finished job comes
   * back completed (its result is the answer) and a failed one as the error it recorded (a permanent
   * job error keeps its status and code, so a bad input found by the worker is still a 4xx); a job
   * still queued or running comes back as it is, for the controller to answer 202 with the job to poll.
   */
  async submit<Q extends QueueName, N extends JobName<Q>>(queueName: Q, jobName: N, payload: JobPayload<Q, N>): Promise<JobResponseDto> {
    const state = await this.waitFor(await this.enqueue(queueName, jobName, payload), this.config.jobWaitS * 1000);
    if (state.status === 'failed') {
      const failure = state.error!;
      throw new ApiError(failure.status, failure.message, { code: failure.code, param: failure.param });
    }
    return state;
  }

  find(id: string): Promise<JobResponseDto | undefined> {
    return this.onRedis('the job lookup', async () => {
      for (const queue of this.queues.values()) {
        // State first, then the job: a job only moves forward, so its data is then at least as fresh
        // as its state. The other order could report "completed" from a snapshot without the result.
        const state = await queue.getJobState(id);
        const job = state === 'unknown' ? undefined : await queue.getJob(id);
        if (job !== undefined) {
          return this.describe(job, state as JobState, await this.retryAt(queue, job, state as JobState));
        }
      }
      return undefined;
    });
  }

  /** The job, if the caller may see it: its own, or any for an admin. */
  async findFor(id: string, caller: Caller): Promise<JobResponseDto> {
    const job = await this.find(id);
    if (job === undefined) {
      throw new ApiError(404, `No job with id "${id}"`, { code: 'job_not_found', param: 'id' });
    }
    if (caller.role !== 'admin' && job.owner !== caller.name) {
      throw new ApiError(403, `Job "${id}" belongs to another key; only admin keys see other keys' jobs`, {
        code: 'insufficient_permissions',
        param: 'id',
      });
    }
    return job;
  }

  /** Newest first: every key's jobs for an admin, the caller's own for a user key. */
  list(query: JobListQueryDto, caller: Caller): Promise<JobResponseDto[]> {
    const queues = query.queue === undefined ? QUEUE_NAMES : [query.queue];
    const states = query.state === undefined ? LISTED_JOB_STATES : [query.state];
    return this.onRedis('the job listing', async () => {
      const found: JobResponseDto[] = [];
      for (const name of queues) {
        for (const state of states) {
          // BullMQ lists by state; asking per state gives each job's state without a round trip per job.
          const queue = this.queue(name);
          for (const job of await queue.getJobs([state], 0, query.limit - 1, false)) {
            const described = this.describe(job, state, await this.retryAt(queue, job, state));
            if (caller.role === 'admin' || described.owner === caller.name) {
              found.push(described);
            }
          }
        }
      }
      return found.sort((a, b) => b.created_at - a.created_at || a.id.localeCompare(b.id)).slice(0, query.limit);
    });
  }

  /**
   * Deletes a job: one not running is removed at once; a running one is cancelled on the worker that
   * runs it (each worker is asked; the one holding it stops it), then removed. 409 when it does not stop.
   */
  async remove(id: string, caller: Caller): Promise<JobDeletedResponseDto> {
    const job = await this.findFor(id, caller);
    if (job.status === 'active') {
      await this.cancelOnWorkers(id, caller);
      const deadline = Date.now() + CANCEL_WAIT_MS;
      while ((await this.find(id))?.status === 'active' && Date.now() < deadline) {
        await sleep(200);
      }
    }
    const removed = await this.onRedis('the removal', async () => {
      const queue = this.queue(job.queue as QueueName);
      const state = await queue.getJobState(id);
      if (state === 'active') {
        return false;
      }
      await queue.remove(id);
      return true;
    });
    if (!removed) {
      throw new ApiError(409, `Job "${id}" is still running and could not be stopped; retry shortly`, {
        code: 'job_active',
        param: 'id',
        headers: { 'retry-after': '5' },
      });
    }
    return { id, object: 'job', deleted: true, previous_status: job.status };
  }

  /** Removes a job that has finished (completed, or failed for good), so its id can be used again. */
  async discardFinished(queueName: QueueName, id: string): Promise<void> {
    await this.onRedis('the removal', async () => {
      const state = await this.queue(queueName).getJobState(id);
      if (state === 'completed' || state === 'failed') {
        await this.queue(queueName).remove(id);
      }
    });
  }

  private async cancelOnWorkers(id: string, caller: Caller): Promise<void> {
    const reason = `cancelled by key "${caller.name}"`;
    await Promise.allSettled(
      this.workers
        .list()
        .filter((entry) => this.workers.isUp(entry))
        .map((entry) => entry.client!.call('job.cancel', { jobId: id, reason }, { timeoutMs: REDIS_DEADLINE_MS })),
    );
  }

  /**
   * When a job waiting to be retried runs again (Unix ms), or null for a job in any other state.
   * BullMQ keeps that time only as the job's score in the queue's delayed set, encoded as
   * `timestamp * 0x1000 + a sequence number` (its getDelayedScore.lua).
   */
  private async retryAt(queue: Queue, job: Job, state: JobState): Promise<number | null> {
    if (state !== 'delayed') {
      return null;
    }
    const score = await (await queue.client).zscore(queue.keys.delayed, job.id!);
    return score === null ? null : Math.floor(Number(score) / 0x1000);
  }

  private describe(job: Job, status: JobState, retryAtMs: number | null): JobResponseDto {
    return {
      id: job.id!,
      object: 'job',
      queue: job.queueName,
      name: job.name,
      status,
      progress: job.progress,
      attempts_made: job.attemptsMade,
      owner: jobOwner(job.data) || null,
      created_at: unixSeconds(job.timestamp),
      finished_at: job.finishedOn === undefined ? null : unixSeconds(job.finishedOn),
      result: job.returnvalue ?? null,
      // A delayed job is a failed try waiting for the next: its error says why it is being retried.
      error: status === 'failed' || (status === 'delayed' && job.failedReason !== undefined) ? readJobError(job.failedReason) : null,
      retry_at: retryAtMs === null ? null : unixSeconds(retryAtMs),
    };
  }
}
