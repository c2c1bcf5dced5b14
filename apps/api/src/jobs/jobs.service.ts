import { getQueueToken } from '@nestjs/bullmq';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Job, Queue, QueueEvents } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { OMNI_CONFIG, requireRedisUrl, type OmniConfig } from '@mlx-omni/config';
import { consumerConnectionOptions, JOB_OWNER_FIELD, jobOwner, QUEUE_NAMES, QUEUE_SETTINGS, readJobError, type JobName, type JobPayload, type QueueName } from '@mlx-omni/jobs';
import { CallerContext } from '../auth/caller-context';
import { ApiError } from '../common/errors/api-error';
import type { JobResponseDto, JobState } from './dto/job-response.dto';
import { unixSeconds } from '../common/unix-seconds';

/** Redis answered with an error or is unreachable: the queue-backed route answers 503, never hangs. */
function queueUnavailable(error: unknown): ApiError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ApiError(503, `The job queue is unavailable (${reason}); retry shortly`, {
    code: 'queue_unavailable',
    headers: { 'retry-after': '2' },
  });
}

/** Enqueues long jobs and reports on them. Processors live in the inference workers. */
@Injectable()
export class JobsService implements OnModuleInit, OnModuleDestroy {
  private readonly queues = new Map<QueueName, Queue>();
  private readonly events = new Map<QueueName, QueueEvents>();

  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly callers: CallerContext,
  ) {}

  /** Queue providers come from async factories, so they are looked up once the module is built. */
  onModuleInit(): void {
    for (const name of QUEUE_NAMES) {
      this.queues.set(name, this.moduleRef.get<Queue>(getQueueToken(name), { strict: false }));
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.events.values()].map((events) => events.close()));
  }

  queue(name: QueueName): Queue {
    return this.queues.get(name)!;
  }

  /** A given `jobId` deduplicates: while a job with that id exists, BullMQ returns it instead of adding another. */
  async enqueue<Q extends QueueName, N extends JobName<Q>>(queueName: Q, jobName: N, payload: JobPayload<Q, N>, jobId: string = randomUUID()): Promise<Job> {
    const settings = QUEUE_SETTINGS[queueName];
    try {
      const owner = this.callers.current()?.name ?? null;
      return await this.queue(queueName).add(jobName, { ...(payload as object), [JOB_OWNER_FIELD]: owner }, {
        jobId,
        attempts: settings.attempts,
        backoff: { type: 'exponential', delay: settings.backoffMs },
        // Finished jobs stay visible for a day so clients can fetch results, then Redis forgets them.
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
    } catch (error) {
      throw queueUnavailable(error);
    }
  }

  /** Waits up to `timeoutMs` for the job to finish; returns its state either way (never throws on timeout). */
  async waitFor(job: Job, timeoutMs: number): Promise<JobResponseDto> {
    if (timeoutMs > 0) {
      const queueName = job.queueName as QueueName;
      let events = this.events.get(queueName);
      if (events === undefined) {
        // QueueEvents blocks on Redis streams, which BullMQ only allows on a retry-forever connection.
        events = new QueueEvents(queueName, { connection: consumerConnectionOptions(requireRedisUrl(this.config)) });
        this.events.set(queueName, events);
        await events.waitUntilReady();
      }
      // A failed job or a timeout both end the wait; the job's state below tells which.
      await job.waitUntilFinished(events, timeoutMs).catch(() => undefined);
    }
    const fresh = await this.find(job.id!);
    return fresh!;
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

  async find(id: string): Promise<JobResponseDto | undefined> {
    try {
      for (const queue of this.queues.values()) {
        // State first, then the job: a job only moves forward, so its data is then at least as fresh
        // as its state. The other order could report "completed" from a snapshot without the result.
        const state = await queue.getJobState(id);
        const job = state === 'unknown' ? undefined : await queue.getJob(id);
        if (job !== undefined) {
          return this.describe(job, state as JobState);
        }
      }
      return undefined;
    } catch (error) {
      throw queueUnavailable(error);
    }
  }

  private describe(job: Job, status: JobState): JobResponseDto {
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
      error: status === 'failed' ? readJobError(job.failedReason) : null,
    };
  }
}
