import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { processorOptions, type JobName, type JobPayload, type JobResult } from '@mlx-omni/jobs';
import { HubRequestError, InvalidModelIdError, pullModel, type DownloadProgress } from '@mlx-omni/model-hub';
import { JobCancellation } from './job-cancellation';

type ModelDownloadJob = JobName<'model-download'>;

/** Each progress write is a Redis round trip; a few per second keep GET /v1/jobs/{id} current. */
const PROGRESS_INTERVAL_MS = 250;

@Processor('model-download', processorOptions('model-download'))
export class ModelDownloadProcessor extends WorkerHost {
  private readonly logger = new Logger(ModelDownloadProcessor.name);

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly cancellation: JobCancellation,
  ) {
    super();
  }

  async process(job: Job<JobPayload<'model-download', ModelDownloadJob>>): Promise<JobResult<'model-download', ModelDownloadJob>> {
    const name = job.name as ModelDownloadJob;
    switch (name) {
      case 'pull':
        return this.pull(job);
      default:
        // A job name this worker does not know is a deployment mismatch; retrying cannot fix it.
        throw new UnrecoverableError(`No handler for job "${String(name)}" on queue model-download`);
    }
  }

  private async pull(job: Job<JobPayload<'model-download', 'pull'>>): Promise<JobResult<'model-download', 'pull'>> {
    const { model, revision } = job.data;
    let lastWrite = 0;
    let latest: DownloadProgress | undefined;
    const writes: Array<Promise<void>> = [];
    const onProgress = (progress: DownloadProgress): void => {
      latest = progress;
      if (Date.now() - lastWrite >= PROGRESS_INTERVAL_MS) {
        lastWrite = Date.now();
        writes.push(job.updateProgress({ ...progress }));
      }
    };
    const signal = this.cancellation.begin(job.id!);
    try {
      const downloaded = await pullModel(model, revision, {
        hubCache: this.config.hfHubCache,
        endpoint: this.config.hfEndpoint,
        token: this.config.hfToken,
        onProgress,
        signal,
      });
      await Promise.all(writes);
      await job.updateProgress({ ...latest! });
      this.logger.log({ jobId: job.id, model, commit: downloaded.commit, bytes: downloaded.bytesFetched }, 'Model downloaded');
      return {
        model,
        revision,
        commit: downloaded.commit,
        path: downloaded.path,
        files: downloaded.files,
        bytes_total: downloaded.bytesTotal,
        bytes_downloaded: downloaded.bytesFetched,
        companions: downloaded.companions.map((companion) => ({ model: companion.repoId, commit: companion.commit, files: companion.files })),
      };
    } catch (error) {
      await Promise.allSettled(writes);
      if (signal.aborted) {
        this.logger.log({ jobId: job.id, model, reason: (signal.reason as Error).message }, 'Model download cancelled');
        throw new UnrecoverableError(`Download ${(signal.reason as Error).message}`);
      }
      // A wrong id, revision or token stays wrong: fail the job now instead of retrying it four more times.
      if ((error instanceof HubRequestError && error.permanent) || error instanceof InvalidModelIdError) {
        throw new UnrecoverableError(error.message);
      }
      this.logger.warn({ jobId: job.id, model, attempt: job.attemptsMade + 1, err: error }, 'Model download interrupted; it resumes on the next try');
      throw error;
    } finally {
      this.cancellation.end(job.id!);
    }
  }
}
