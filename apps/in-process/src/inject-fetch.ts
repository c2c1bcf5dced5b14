import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

/**
 * A `fetch` that answers from the app itself through Fastify's `inject`: no port, no socket, the
 * same routes, hooks and error handling. Bodies stream both ways; a caller that stops reading
 * (an SDK leaving a stream) closes the server's response, which cancels the worker's request as a
 * departed HTTP client does.
 */
export function injectFetch(fastify: FastifyInstance): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const response = await fastify.inject({
      method: request.method as 'GET',
      url: `${url.pathname}${url.search}`,
      headers: Object.fromEntries(request.headers),
      ...(request.body === null ? {} : { payload: Buffer.from(await request.arrayBuffer()) }),
      payloadAsStream: true,
      signal: request.signal,
    });
    const body = response.stream();
    const raw = response.raw.res as ServerResponse;
    body.once('close', () => {
      if (!raw.writableFinished) {
        raw.destroy();
      }
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== undefined) {
          headers.append(name, String(item));
        }
      }
    }
    const nullBody = request.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304;
    return new Response(nullBody ? null : (Readable.toWeb(body) as ReadableStream<Uint8Array>), { status: response.statusCode, headers });
  };
}
