import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { randomInt } from 'node:crypto';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import {
  ArtifactStore,
  artifactsDir,
  jobOwner,
  permanentJobError,
  processorOptions,
  type GeneratedImageFile,
  type ImageGenerationProgress,
  type JobName,
  type JobPayload,
  type JobResult,
} from '@mlx-omni/jobs';
import { FairStepScheduler, sliceRunner } from '@mlx-omni/mlx-native';
import { encodeImage, IMAGE_CONTENT_TYPES } from '../images/image-encoding';
import { ModelPoolService } from '../models/model-pool.service';
import { JobCancellation } from './job-cancellation';
import { asJobFailure } from './job-failure';

type ImagesJob = JobName<'images'>;

/** mflux's and the Python server's range of random seeds. */
const SEED_RANGE = 2 ** 32;

/**
 * Renders images on this worker's device. The model comes from the pool (one memory budget with the
 * chat models); each transformer block and VAE stage takes one turn of the worker's step scheduler,
 * in a lane of its own, so chat streams on the same worker keep getting their decode steps between
 * them (a token waits at most one block, tens of milliseconds for FLUX.1 at 1024² on Metal) while the
 * image slows by the chat steps it lets through.
 */
@Processor('images', processorOptions('images'))
export class ImagesProcessor extends WorkerHost {
  private readonly logger = new Logger(ImagesProcessor.name);
  private readonly store: ArtifactStore;

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly pool: ModelPoolService,
    private readonly scheduler: FairStepScheduler,
    private readonly cancellation: JobCancellation,
  ) {
    super();
    this.store = new ArtifactStore(artifactsDir(config.stateDir));
  }

  async process(job: Job<JobPayload<'images', ImagesJob>>): Promise<JobResult<'images', ImagesJob>> {
    const name = job.name as ImagesJob;
    switch (name) {
      case 'generate':
        return this.cancellation.run(job.id!, 'Image generation', (signal) => this.generate(job, signal), asJobFailure);
      default:
        // A job name this worker does not know is a deployment mismatch; retrying cannot fix it.
        throw new UnrecoverableError(`No handler for job "${String(name)}" on queue images`);
    }
  }

  /** Renders the images; `signal` (DELETE /v1/jobs/{id}) stops it at the next transformer block or VAE stage. */
  private generate(job: Job<JobPayload<'images', 'generate'>>, signal: AbortSignal): Promise<JobResult<'images', 'generate'>> {
    const p = job.data;
    const owner = jobOwner(job.data);
    return this.pool.use('image', p.model, p.path, async ({ pipeline }) => {
      const multiple = pipeline.sizeMultiple;
      if (p.width % multiple !== 0 || p.height % multiple !== 0) {
        throw permanentJobError({ status: 400, code: 'invalid_value', param: 'size', message: `${p.model} makes images whose sides are multiples of ${multiple}; got ${p.width}x${p.height}` });
      }
      const started = performance.now();
      const steps = p.steps ?? pipeline.defaults.steps;
      const guidance = pipeline.variant === 'dev' ? (p.guidance ?? pipeline.defaults.guidance) : null;
      const run = sliceRunner(this.scheduler.lane(`images:${owner}`), signal);
      const embedding = await pipeline.encodePrompt(p.prompt, run);
      const images: GeneratedImageFile[] = [];
      for (let index = 0; index < p.n; index++) {
        const seed = p.seed === null ? randomInt(0, SEED_RANGE) : p.seed + index;
        const image = await pipeline.generate(embedding, { width: p.width, height: p.height, steps, guidance: guidance ?? 0, seed }, {
          run,
          onStep: (step) => job.updateProgress({ step, steps, image: index, images: p.n } satisfies ImageGenerationProgress),
        });
        const encoded = await encodeImage(image.rgb, image.width, image.height, p.output_format, p.output_compression ?? 100);
        const file = await this.store.create(
          { filename: `image-${index}.${p.output_format === 'jpeg' ? 'jpg' : p.output_format}`, contentType: IMAGE_CONTENT_TYPES[p.output_format], owner, ttlSeconds: this.config.artifactTtlS },
          encoded,
        );
        images.push({ file, seed });
      }
      const seconds = (performance.now() - started) / 1000;
      this.logger.log({ jobId: job.id, model: p.model, images: p.n, size: `${p.width}x${p.height}`, steps, seconds }, 'Images generated');
      return {
        model: p.model,
        images,
        width: p.width,
        height: p.height,
        steps,
        guidance,
        output_format: p.output_format,
        prompt_tokens: embedding.promptTokens,
        prompt_truncated: embedding.truncated,
        seconds,
      };
    });
  }
}
