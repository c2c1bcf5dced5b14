import type { Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { describeError, type DescribedError } from '../../common/errors/describe-error';
import type { SseWriter } from './sse-writer';

export interface SseRelay<E> {
  sse: SseWriter;
  /** The surface's events, in order; it maps the worker's chunks to its own wire format. */
  events: AsyncIterable<E>;
  /** How one event is written (`data:` only, or named). */
  write: (sse: SseWriter, event: E) => Promise<void>;
  /** What a failure after the stream started becomes: the surface's error event. */
  failure: (error: DescribedError) => E;
  logger: Pick<Logger, 'warn'>;
}

/**
 * Writes a surface's events as they come. A failure after the first event becomes the surface's
 * error event in the stream (the status is already sent); a departed client ends the events, which
 * cancels the worker's request within a step.
 */
export async function relayToSse<E>({ sse, events, write, failure, logger }: SseRelay<E>): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  try {
    for (let step = await iterator.next(); step.done !== true; step = await iterator.next()) {
      await write(sse, step.value);
      if (sse.isClosed) {
        await iterator.return?.();
        return;
      }
    }
  } catch (error) {
    logger.warn({ err: error }, 'Stream ended with an error');
    await write(sse, failure(describeError(error)));
  } finally {
    sse.end();
  }
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  // Reverse proxies (nginx) would otherwise buffer the whole stream.
  'x-accel-buffering': 'no',
};

/**
 * What a streaming route returns: the event stream as the response body, with SSE headers. Nest
 * hands it to Fastify's `reply.send`, which pipes it. Routes must not hijack the reply: Nest would
 * then still call `send` on it, and Fastify logs "Reply was already sent" for every stream.
 */
export function sseResponse(reply: FastifyReply, body: Readable): Readable {
  void reply.headers(SSE_HEADERS);
  return body;
}
