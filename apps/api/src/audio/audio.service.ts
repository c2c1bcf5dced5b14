import { Inject, Injectable, Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { join } from 'node:path';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type { TranscriptionChunk, TranscriptionParams, WireSegment } from '@mlx-omni/ipc';
import { TranscriptionRequestDto, TranslationRequestDto } from '@mlx-omni/openai-dto';
import type { FastifyRequest } from 'fastify';
import { OpenAiHttpException } from '../common/errors/openai-http.exception';
import { validationFailure } from '../common/errors/validation';
import { toErrorResponse } from '../common/errors/error-response';
import type { RequestContext } from '../common/http/request-context';
import type { SseWriter } from '../common/http/sse-writer';
import { ModelsService } from '../models/models.service';
import { WorkerRegistryService } from '../workers/worker-registry.service';
import { readAudioUpload } from '../common/http/audio-upload';
import { render, type Transcript } from './transcript-formats';

export type AudioTask = 'transcribe' | 'translate';

/** What a finished request answers: a body in its format, or nothing when it was streamed. */
export type AudioAnswer = { contentType: string; body: string | object } | undefined;

/** Transcription and translation on the workers: the upload is spooled to disk, the worker reads it by path. */
@Injectable()
export class AudioService {
  private readonly logger = new Logger(AudioService.name);

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly models: ModelsService,
    private readonly workers: WorkerRegistryService,
  ) {}

  /**
   * Reads and checks the upload, runs it on a worker, and answers in the requested format, or as
   * server-sent events (`takeOverResponse` is called once the stream is known to start).
   */
  async handle(task: AudioTask, request: FastifyRequest, context: RequestContext, signal: AbortSignal, sse: () => SseWriter): Promise<AudioAnswer> {
    const upload = await readAudioUpload(request, join(this.config.stateDir, 'uploads'), this.config.audioMaxBytes);
    try {
      const dto = await this.validated(task, upload.fields);
      if (upload.file === undefined) {
        throw new OpenAiHttpException(400, 'No audio file: send it in the "file" field of a multipart/form-data body', { code: 'invalid_request', param: 'file' });
      }
      if (upload.file.bytes === 0) {
        throw new OpenAiHttpException(400, 'The audio file is empty', { code: 'invalid_audio', param: 'file' });
      }
      const format = dto.response_format ?? 'json';
      const transcription = dto instanceof TranscriptionRequestDto ? dto : undefined;
      const granularities = transcription?.timestamp_granularities;
      if (granularities !== undefined && format !== 'verbose_json') {
        throw new OpenAiHttpException(400, 'timestamp_granularities needs response_format verbose_json', { code: 'invalid_value', param: 'timestamp_granularities' });
      }
      const model = await this.models.resolveFor(dto.model, 'speech-to-text');
      const params: TranscriptionParams = {
        model: dto.model,
        caller: context.keyName ?? '',
        modelPath: model.path,
        audioPath: upload.file.path,
        task,
        language: transcription?.language,
        prompt: dto.prompt,
        temperature: dto.temperature,
        wordTimestamps: granularities?.includes('word') === true,
      };
      const { client } = this.workers.pick(model.id);
      const stream = client.stream('audio.transcribe', params, { signal });
      if (transcription?.stream === true) {
        await this.relay(stream, sse);
        return undefined;
      }
      const segments: WireSegment[] = [];
      for await (const chunk of stream) {
        if (chunk.type === 'segment') {
          segments.push(chunk.segment);
        }
      }
      const transcript: Transcript = {
        task,
        result: await stream.result,
        segments,
        granularities: { segment: granularities === undefined || granularities.includes('segment'), word: params.wordTimestamps },
      };
      return render(format, transcript);
    } finally {
      await upload.discard();
    }
  }

  private async validated(task: AudioTask, fields: Record<string, string | string[]>): Promise<TranslationRequestDto> {
    const dto = plainToInstance(task === 'transcribe' ? TranscriptionRequestDto : TranslationRequestDto, fields);
    const failure = validationFailure(await validate(dto, { whitelist: true, forbidNonWhitelisted: false }));
    if (failure !== undefined) {
      throw failure;
    }
    return dto;
  }

  /**
   * `transcript.text.delta` per segment as the worker decodes it, then `transcript.text.done`. The
   * first chunk (the language) is awaited before the headers go out, so a refused file still gets a 4xx.
   */
  private async relay(stream: AsyncIterable<TranscriptionChunk> & { result: Promise<{ text: string }> }, sse: () => SseWriter): Promise<void> {
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    const writer = sse();
    try {
      for (let step = first; !step.done; step = await iterator.next()) {
        if (step.value.type === 'segment' && step.value.segment.text !== '') {
          await writer.send({ type: 'transcript.text.delta', delta: step.value.segment.text });
        }
        if (writer.isClosed) {
          await iterator.return?.();
          return;
        }
      }
      await writer.send({ type: 'transcript.text.done', text: (await stream.result).text });
    } catch (error) {
      this.logger.warn({ err: error }, 'Transcription stream ended with an error');
      await writer.send(toErrorResponse(error).body);
    } finally {
      writer.end();
    }
  }
}
