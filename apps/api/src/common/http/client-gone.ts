import type { FastifyReply } from 'fastify';

/** An AbortSignal that fires when the client goes away before the answer is complete. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) {
      controller.abort(new DOMException('The client disconnected', 'AbortError'));
    }
  });
  return controller.signal;
}
