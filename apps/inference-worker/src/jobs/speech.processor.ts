import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import {
  ArtifactStore,
  artifactsDir,
  jobOwner,
  permanentJobError,
  processorOptions,
  SPEECH_FORMATS,
  type JobName,
  type JobPayload,
  type JobResult,
  type SpeechChunkReport,
  type SpeechProgress,
} from '@mlx-omni/jobs';
import { AudioDecodeError, decodeAudioFile, FairStepScheduler, SpeechInputError, type ReferenceVoice } from '@mlx-omni/mlx-native';
import { ModelPoolService } from '../models/model-pool.service';
import { AudioEncoder } from '../speech/audio-encoder';
import { JobCancellation } from './job-cancellation';
import { asJobFailure } from './job-failure';

type SpeechJob = JobName<'speech'>;

/**
 * Every speech job takes its device turns as one caller of the worker's scheduler, whichever key sent
 * it: chat keys then get as many turns as all speech together, so a long synthesis slows a chat stream
 * by at most one synthesis unit per token instead of starving it.
 */
const SPEECH_LANE = 'speech-jobs';

/**
 * A registered voice's clip, decoded at the model's rate. The API checked it when it was registered;
 * one deleted since the request was made is the caller's 400, not a failure of the job.
 */
async function referenceVoice(request: JobPayload<'speech', 'synthesize'>, sampleRate: number, signal: AbortSignal): Promise<ReferenceVoice> {
  const { audio_path: path, transcript } = request.reference!;
  try {
    return { samples: await decodeAudioFile(path, { sampleRate, signal }), transcript };
  } catch (error) {
    if (error instanceof AudioDecodeError) {
      throw new SpeechInputError(`The reference voice "${request.voice}" is no longer registered (or its clip cannot be read): ${error.detail}`, 'voice');
    }
    throw error;
  }
}

@Processor('speech', processorOptions('speech'))
export class SpeechProcessor extends WorkerHost {
  private readonly logger = new Logger(SpeechProcessor.name);
  private readonly artifacts: ArtifactStore;

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly pool: ModelPoolService,
    private readonly scheduler: FairStepScheduler,
    private readonly cancellation: JobCancellation,
  ) {
    super();
    this.artifacts = new ArtifactStore(artifactsDir(config.stateDir));
  }

  async process(job: Job<JobPayload<'speech', SpeechJob>>): Promise<JobResult<'speech', SpeechJob>> {
    const name = job.name as SpeechJob;
    switch (name) {
      case 'synthesize':
        return this.cancellation.run(job.id!, 'Speech', (signal) => this.synthesize(job, signal), (error) =>
          error instanceof SpeechInputError ? permanentJobError({ status: 400, code: 'invalid_value', message: error.message, param: error.param }) : asJobFailure(error),
        );
      default:
        // A job name this worker does not know is a deployment mismatch; retrying cannot fix it.
        throw new UnrecoverableError(`No handler for job "${String(name)}" on queue speech`);
    }
  }

  /** Synthesises chunk by chunk into one audio file under the state directory, reporting each chunk. */
  private async synthesize(job: Job<JobPayload<'speech', 'synthesize'>>, signal: AbortSignal): Promise<JobResult<'speech', 'synthesize'>> {
    const request = job.data;
    const format = SPEECH_FORMATS[request.response_format];
    const started = performance.now();
    return this.pool.use('text-to-speech', request.model, request.model_path, async ({ synthesizer }) => {
      const reference = request.reference === undefined ? undefined : await referenceVoice(request, synthesizer.sampleRate, signal);
      const chunks: SpeechChunkReport[] = [];
      let samples = 0;
      const file = await this.artifacts.create(
        { filename: `speech.${format.extension}`, contentType: format.contentType, owner: jobOwner(job.data), ttlSeconds: this.config.artifactTtlS },
        async (path, id) => {
          const encoder = AudioEncoder.start(request.response_format, synthesizer.sampleRate, path);
          try {
            for await (const chunk of synthesizer.synthesize({
              input: request.input,
              voice: request.voice,
              reference,
              speed: request.speed,
              seed: request.seed,
              signal,
              turns: this.scheduler.lane(SPEECH_LANE),
            })) {
              await encoder.write(chunk.samples);
              samples += chunk.samples.length;
              chunks.push({ index: chunk.index, phonemes: chunk.phonemes, frames: chunk.frames, samples: chunk.samples.length });
              const progress: SpeechProgress = { chunks_done: chunks.length, audio_seconds: samples / synthesizer.sampleRate, file: { id, filename: `speech.${format.extension}` } };
              await job.updateProgress({ ...progress });
            }
            await encoder.finish();
          } catch (error) {
            encoder.abort();
            throw error;
          }
        },
      );
      const audioSeconds = samples / synthesizer.sampleRate;
      this.logger.log(
        { jobId: job.id, model: request.model, chunks: chunks.length, audioSeconds, seconds: (performance.now() - started) / 1000 },
        'Speech synthesised',
      );
      return {
        model: request.model,
        voice: request.voice,
        response_format: request.response_format,
        sample_rate: synthesizer.sampleRate,
        audio_seconds: audioSeconds,
        file,
        chunks,
      };
    });
  }
}
