import type { Logger } from '@nestjs/common';
import type { GenerationChunk, GenerationResult } from '@mlx-omni/ipc';
import type { Readable } from 'node:stream';
import type { DescribedError } from '../../common/errors/describe-error';
import { relayToSse } from '../../inference/sse/relay';
import { SseWriter } from '../../inference/sse/sse-writer';
import type { WorkerStream } from '../../inference/worker-stream';
import { renderOpenAiError } from '../openai-error';

/** Chat Completions and legacy Completions stream `data:` lines only: objects, then the `[DONE]` sentinel. */
type OpenAiStreamEvent = object | '[DONE]';

/** A failure mid-stream is OpenAI's error envelope as one more `data:` line (no `[DONE]` after it); the status is already sent. */
const failure = (error: DescribedError): OpenAiStreamEvent => renderOpenAiError(error).body;

export interface OpenAiStreamMapping {
  /** The objects to send for one worker chunk. */
  map: (chunk: GenerationChunk) => object[];
  /** The usage object after the last chunk, when the client asked for `stream_options.include_usage`. */
  usage?: (result: GenerationResult) => object;
}

/** Relays a generation as OpenAI's `data:`-only stream and returns the body for the route to send. */
export function openAiEventStream(stream: WorkerStream<GenerationChunk, GenerationResult>, { map, usage }: OpenAiStreamMapping, logger: Pick<Logger, 'warn'>): Readable {
  async function* events(): AsyncGenerator<OpenAiStreamEvent> {
    for await (const chunk of stream) {
      yield* map(chunk);
    }
    if (usage !== undefined) {
      yield usage(await stream.result);
    }
    yield '[DONE]';
  }
  const sse = new SseWriter();
  void relayToSse({ sse, events: events(), write: (writer, event) => writer.send(event), failure, logger });
  return sse.body;
}
