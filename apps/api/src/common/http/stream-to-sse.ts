import type { Logger } from '@nestjs/common';
import type { GenerationChunk, GenerationResult } from '@mlx-omni/ipc';
import { toErrorResponse } from '../errors/error-response';
import type { SseWriter } from './sse-writer';

/** A worker's generation as the API relays it: chunks, then the usage. `IpcStream` is one. */
export interface GenerationStream extends AsyncIterable<GenerationChunk> {
  readonly result: Promise<GenerationResult>;
}

export interface SseRelay {
  stream: GenerationStream;
  sse: SseWriter;
  headers: Record<string, string>;
  /** Called once the response is known to succeed, to take it over from the framework. */
  takeOverResponse: () => void;
  /** The events to send for one worker chunk. */
  map: (chunk: GenerationChunk) => unknown[];
  /** Events after the last chunk (the usage event), before `[DONE]`. */
  finish: (result: GenerationResult) => unknown[];
  logger: Logger;
}

/**
 * Relays a worker's generation as server-sent events. The first chunk is awaited before the headers
 * go out, so a request the worker refuses (context too long, unsupported format) still gets a 4xx;
 * after that a failure becomes an error event in the stream, and a departed client cancels the worker.
 */
export async function relayToSse({ stream, sse, headers, takeOverResponse, map, finish, logger }: SseRelay): Promise<void> {
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  takeOverResponse();
  sse.open(headers);
  try {
    for (let step = first; !step.done; step = await iterator.next()) {
      for (const event of map(step.value)) {
        await sse.send(event);
      }
      if (sse.isClosed) {
        await iterator.return?.();
        return;
      }
    }
    for (const event of finish(await stream.result)) {
      await sse.send(event);
    }
    await sse.send('[DONE]');
  } catch (error) {
    logger.warn({ err: error }, 'Stream ended with an error');
    await sse.send(toErrorResponse(error).body);
  } finally {
    sse.end();
  }
}
