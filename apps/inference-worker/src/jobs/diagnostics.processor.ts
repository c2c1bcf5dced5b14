import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { processorOptions, type JobName, type JobPayload, type JobResult } from '@mlx-omni/jobs';
import { mlxRuntimeInfo, runMatmulSelfTest } from '@mlx-omni/mlx-native';

type DiagnosticsJob = JobName<'diagnostics'>;

@Processor('diagnostics', processorOptions('diagnostics'))
export class DiagnosticsProcessor extends WorkerHost {
  private readonly logger = new Logger(DiagnosticsProcessor.name);

  constructor(@Inject(OMNI_CONFIG) private readonly config: OmniConfig) {
    super();
  }

  async process(job: Job<JobPayload<'diagnostics', DiagnosticsJob>>): Promise<JobResult<'diagnostics', DiagnosticsJob>> {
    const name = job.name as DiagnosticsJob;
    switch (name) {
      case 'matmul-self-test': {
        const figures = await runMatmulSelfTest(job.data.size);
        this.logger.log({ jobId: job.id, ...figures }, 'Matmul self-test finished');
        return {
          worker_id: this.config.workerId,
          device: mlxRuntimeInfo().device,
          size: figures.size,
          max_abs_error: figures.maxAbsError,
          gflops: figures.gflops,
          seconds: figures.seconds,
        };
      }
      default:
        // A job name this worker does not know is a deployment mismatch; retrying cannot fix it.
        throw new UnrecoverableError(`No handler for job "${String(name)}" on queue diagnostics`);
    }
  }
}
