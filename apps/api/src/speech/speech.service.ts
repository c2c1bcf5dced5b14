import { Inject, Injectable, Logger } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { ArtifactStore, artifactsDir, SPEECH_FORMATS, type SpeechPayload, type SpeechProgress, type SpeechResult } from '@mlx-omni/jobs';
import type { CreateSpeechRequestDto } from '@mlx-omni/openai-dto';
import { ApiError } from '../common/errors/api-error';
import { describeError, type DescribedError } from '../common/errors/describe-error';
import { relayToSse } from '../inference/sse/relay';
import { SseWriter } from '../inference/sse/sse-writer';
import { renderOpenAiError } from '../openai/openai-error';
import type { JobResponseDto } from '../jobs/dto/job-response.dto';
import { JobsService } from '../jobs/jobs.service';
import { ModelsService } from '../models/models.service';
import { followGrowingFile } from './follow-file';
import { VoicesService } from './voices.service';

/** The seed when the request names none: the same request then gives the same audio. */
const DEFAULT_SEED = 0;
/** How often a queued or running speech job is looked at while the request waits for it. */
const POLL_MS = 100;

/** Where a speech request stands once it can be answered. */
export type SpeechStart =
  | { kind: 'complete'; job: JobResponseDto; result: SpeechResult; request: CreateSpeechRequestDto }
  | { kind: 'growing'; job: JobResponseDto; file: { id: string; filename: string }; request: CreateSpeechRequestDto }
  | { kind: 'pending'; job: JobResponseDto };

/** OpenAI's error event of a speech stream: the envelope's `error`, typed. */
function speechError(error: DescribedError): object {
  return { type: 'error', error: renderOpenAiError(error).body.error };
}

function isFinished(job: JobResponseDto): boolean {
  return job.status === 'completed' || job.status === 'failed';
}

function failure(job: JobResponseDto): ApiError {
  const error = job.error ?? { status: 500, code: 'job_failed', message: 'The speech job failed', param: null };
  return new ApiError(error.status, error.message, { code: error.code, param: error.param });
}

/**
 * `/v1/audio/speech` as a BullMQ job: validated and resolved here, synthesised by a worker into a file
 * under the state directory, and sent from that file — as it grows for the formats that allow it.
 */
@Injectable()
export class SpeechService {
  private readonly logger = new Logger(SpeechService.name);
  private readonly artifacts: ArtifactStore;

  constructor(
    private readonly models: ModelsService,
    private readonly jobs: JobsService,
    private readonly voices: VoicesService,
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
  ) {
    this.artifacts = new ArtifactStore(artifactsDir(config.stateDir));
  }

  /**
   * Everything that can fail with a 4xx happens before the first byte: the model, the voice, and a job
   * that fails for a client reason. Waits (up to MLX_OMNI_JOB_WAIT_S) until the audio file exists — for
   * wav and flac until it is complete — and answers `pending` (202 with the job) past that.
   */
  async start(request: CreateSpeechRequestDto): Promise<SpeechStart> {
    const model = await this.models.resolveFor(request.model, 'text-to-speech');
    const voice = await this.voices.resolve(request.voice, model);
    const format = request.response_format ?? 'mp3';
    const payload: SpeechPayload = {
      model: model.id,
      model_path: model.path,
      input: request.input,
      ...voice,
      speed: request.speed ?? 1,
      seed: request.seed ?? DEFAULT_SEED,
      response_format: format,
    };
    const enqueued = await this.jobs.enqueue('speech', 'synthesize', payload);
    const deadline = Date.now() + this.config.jobWaitS * 1000;
    for (;;) {
      const job = await this.state(enqueued.id!);
      if (job.status === 'failed') {
        throw failure(job);
      }
      if (job.status === 'completed') {
        return { kind: 'complete', job, result: job.result as SpeechResult, request };
      }
      const file = (job.progress as Partial<SpeechProgress> | undefined)?.file;
      if (file !== undefined && SPEECH_FORMATS[format].progressive) {
        return { kind: 'growing', job, file, request };
      }
      if (Date.now() >= deadline) {
        return { kind: 'pending', job };
      }
      await sleep(POLL_MS);
    }
  }

  /** The job's audio as it becomes readable, the headers every answer carries, and the job's state once the bytes end. */
  private async audio(started: Exclude<SpeechStart, { kind: 'pending' }>, signal: AbortSignal) {
    const { request, job } = started;
    let final = job;
    const settled = async (): Promise<boolean> => {
      final = await this.state(job.id);
      return isFinished(final);
    };
    const bytes = started.kind === 'growing' ? this.growing(started.file, settled, signal) : this.complete(await this.completePath(started.result), signal);
    const headers: Record<string, string> = { 'x-mlx-omni-job-id': job.id };
    if (request.instructions !== undefined) {
      // Neither Kokoro nor F5-TTS follows instructions; the client learns it was not applied.
      headers['x-mlx-omni-ignored-parameters'] = 'instructions';
    }
    return { bytes, headers, final: () => final };
  }

  /**
   * `speech.audio.delta` events of the audio as it is read, then `speech.audio.done` with usage, or an
   * `error` event when the job fails midway; the body goes to the client through Fastify.
   */
  async events(started: Exclude<SpeechStart, { kind: 'pending' }>, signal: AbortSignal): Promise<{ headers: Record<string, string>; body: Readable }> {
    const { bytes, headers, final } = await this.audio(started, signal);
    async function* events(): AsyncGenerator<object> {
      for await (const chunk of bytes) {
        yield { type: 'speech.audio.delta', audio: chunk.toString('base64') };
      }
      const job = final();
      if (job.status === 'completed' || started.kind === 'complete') {
        const result = (started.kind === 'complete' ? started.result : job.result) as SpeechResult;
        const input = result.chunks.reduce((n, c) => n + [...c.phonemes].length, 0);
        const output = result.chunks.reduce((n, c) => n + c.frames, 0);
        yield { type: 'speech.audio.done', usage: { input_tokens: input, output_tokens: output, total_tokens: input + output } };
      } else {
        yield speechError(describeError(failure(job)));
      }
    }
    const sse = new SseWriter();
    void relayToSse({ sse, events: events(), write: (writer, event) => writer.send(event), failure: speechError, logger: this.logger });
    return { headers, body: sse.body };
  }

  /** Sends the audio from the job's file, as it grows for the progressive formats; a job failing midway cuts the connection. */
  async send(started: Exclude<SpeechStart, { kind: 'pending' }>, response: ServerResponse, signal: AbortSignal): Promise<void> {
    const format = SPEECH_FORMATS[started.request.response_format ?? 'mp3'];
    const { bytes, headers, final } = await this.audio(started, signal);
    response.writeHead(200, {
      'content-type': format.contentType,
      ...(started.kind === 'complete' ? { 'content-length': String(started.result.file.bytes) } : {}),
      ...headers,
    });
    for await (const chunk of bytes) {
      if (!response.write(chunk)) {
        await new Promise((resolve) => response.once('drain', resolve).once('close', resolve));
      }
    }
    if (started.kind === 'growing' && final().status !== 'completed') {
      // A partial file must not look complete: the client sees the connection cut instead.
      response.destroy(failure(final()));
      return;
    }
    response.end();
  }

  private async *growing(file: { id: string; filename: string }, settled: () => Promise<boolean>, signal: AbortSignal): AsyncGenerator<Buffer> {
    const paths = this.artifacts.filePaths(file.id, file.filename);
    if (paths === undefined) {
      throw new Error(`The speech job reported a malformed file ${file.id}/${file.filename}`);
    }
    yield* followGrowingFile(paths, settled, signal);
  }

  private async completePath(result: SpeechResult): Promise<string> {
    const found = await this.artifacts.find(result.file.id);
    if (found === undefined) {
      throw new ApiError(404, `The speech file ${result.file.id} has expired (MLX_OMNI_ARTIFACT_TTL_S)`, { code: 'file_not_found' });
    }
    return found.path;
  }

  private async *complete(path: string, signal: AbortSignal): AsyncGenerator<Buffer> {
    for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024, signal })) {
      yield chunk as Buffer;
    }
  }

  private async state(id: string): Promise<JobResponseDto> {
    const job = await this.jobs.find(id);
    if (job === undefined) {
      throw new ApiError(503, `The speech job ${id} disappeared from the queue; retry`, { code: 'job_lost', headers: { 'retry-after': '1' } });
    }
    return job;
  }
}
