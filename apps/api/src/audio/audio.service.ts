import { Inject, Injectable, Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type { TranscriptionChunk, TranscriptionParams, WireSegment } from '@mlx-omni/ipc';
import { TranscriptionRequestDto, TranslationRequestDto } from '@mlx-omni/openai-dto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../common/errors/api-error';
import { validationFailure } from '../common/errors/validation';
import type { RequestContext } from '../common/http/request-context';
import { InferenceGateway } from '../inference/inference-gateway.service';
import { relayToSse } from '../inference/sse/relay';
import { SseWriter } from '../inference/sse/sse-writer';
import type { WorkerStream } from '../inference/worker-stream';
import { renderOpenAiError } from '../openai/openai-error';
import { readAudioUpload } from '../common/http/audio-upload';
import { render, type Transcript } from './transcript-formats';

export type AudioTask = 'transcribe' | 'translate';

/** What a request answers: a body in its format, or an event stream for the route to send. */
export type AudioAnswer = { contentType: string; body: string | object } | { stream: Readable };

type TranscriptEvent = { type: 'transcript.text.delta'; delta: string } | { type: 'transcript.text.done'; text: string } | object;

/** Transcription and translation on the workers: the upload is spooled to disk, the worker reads it by path. */
@Injectable()
export class AudioService {
  private readonly logger = new Logger(AudioService.name);

  constructor(
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
    private readonly gateway: InferenceGateway,
  ) {}

  /** Reads and checks the upload, runs it on a worker, and answers in the requested format or as server-sent events. */
  async handle(task: AudioTask, request: FastifyRequest, context: RequestContext, signal: AbortSignal): Promise<AudioAnswer> {
    const upload = await readAudioUpload(request, join(this.config.stateDir, 'uploads'), this.config.audioMaxBytes);
    // A streamed answer keeps the file until its stream ends; every other way out deletes it here.
    let streaming = false;
    try {
      const dto = await this.validated(task, upload.fields);
      if (upload.file === undefined) {
        throw new ApiError(400, 'No audio file: send it in the "file" field of a multipart/form-data body', { code: 'invalid_request', param: 'file' });
      }
      if (upload.file.bytes === 0) {
        throw new ApiError(400, 'The audio file is empty', { code: 'invalid_audio', param: 'file' });
      }
      const format = dto.response_format ?? 'json';
      const transcription = dto instanceof TranscriptionRequestDto ? dto : undefined;
      const granularities = transcription?.timestamp_granularities;
      if (granularities !== undefined && format !== 'verbose_json') {
        throw new ApiError(400, 'timestamp_granularities needs response_format verbose_json', { code: 'invalid_value', param: 'timestamp_granularities' });
      }
      const model = await this.gateway.resolve(dto.model, 'speech-to-text');
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
      // The first chunk (the language) is awaited here, so a file the worker refuses still gets a 4xx.
      const stream = await this.gateway.stream('audio.transcribe', params, {
        endpoint: task === 'transcribe' ? 'audio.transcriptions' : 'audio.translations',
        model,
        modelName: dto.model,
        context,
        signal,
        stream: transcription?.stream === true,
      });
      if (transcription?.stream === true) {
        streaming = true;
        return { stream: this.events(stream, () => upload.discard()) };
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
      if (!streaming) {
        await upload.discard();
      }
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

  /** `transcript.text.delta` per segment as the worker decodes it, then `transcript.text.done`; the upload goes when the stream ends. */
  private events(stream: WorkerStream<TranscriptionChunk, { text: string }>, discard: () => Promise<void>): Readable {
    async function* events(): AsyncGenerator<TranscriptEvent> {
      try {
        for await (const chunk of stream) {
          if (chunk.type === 'segment' && chunk.segment.text !== '') {
            yield { type: 'transcript.text.delta', delta: chunk.segment.text };
          }
        }
        yield { type: 'transcript.text.done', text: (await stream.result).text };
      } finally {
        await discard();
      }
    }
    const sse = new SseWriter();
    void relayToSse({ sse, events: events(), write: (writer, event) => writer.send(event), failure: (error) => renderOpenAiError(error).body, logger: this.logger });
    return sse.body;
  }
}
