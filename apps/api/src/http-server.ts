import { Logger } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger as PinoLogger } from 'pino';
import multipart from '@fastify/multipart';
import { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { errorTypeForStatus } from '@mlx-omni/openai-dto';
import type { Duplex } from 'node:stream';
import { isOperationsPath } from './auth/caller';
import { ApiError } from './common/errors/api-error';
import { requestContext } from './common/http/request-context';
import { jsonDepthExceeds } from './common/http/json-depth';
import { LifecycleService } from './lifecycle/lifecycle.service';
import { sendError } from './surface-errors';
import { MetricsService } from './metrics/metrics.service';

/** A caller's id is kept when it is a sane token, so logs can be joined across services. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createFastifyAdapter(config: OmniConfig, logger: PinoLogger): FastifyAdapter {
  return new FastifyAdapter({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // New requests on kept-alive connections get 503 while the server closes.
    return503OnClosing: true,
    http: { maxHeaderSize: config.maxHeaderBytes },
    clientErrorHandler: answerClientError,
    // Fastify's two lines per request are replaced by one that also names the route and the key.
    logController: new LogController({ disableRequestLogging: true }),
    // Malformed URLs and over-long path parameters are refused by Fastify's router, before any hook runs.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => sendError(error, request, reply, new Logger('Http')),
  });
}

/**
 * Errors Node's HTTP parser finds before any route runs (headers over MLX_OMNI_MAX_HEADER_BYTES,
 * malformed request lines) still leave in the OpenAI envelope, written straight to the socket.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) {
    return;
  }
  const [status, reason, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'Request headers are larger than the server accepts']
      : [400, 'Bad Request', 'Malformed HTTP request'];
  const body = JSON.stringify({ error: { message, type: errorTypeForStatus(status), param: null, code: 'invalid_request' } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

/**
 * multipart/form-data for the audio routes. Registered before init, as Fastify plugins must be; the
 * routes read the parts themselves (and spool the file), so nothing is buffered in memory here.
 */
export async function installMultipart(app: NestFastifyApplication): Promise<void> {
  await app.register(multipart);
}

/** Hooks that wrap every request: request-id echo, latency metrics, refusal while draining, and error mapping outside Nest's routes. */
export function installHttpHooks(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(MetricsService);
  const lifecycle = app.get(LifecycleService);
  const logger = new Logger('Http');
  const config = app.get<OmniConfig>(OMNI_CONFIG);
  if (config.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      // Both key headers, so browser clients of either SDK can authenticate.
      allowedHeaders: ['authorization', 'x-api-key', 'content-type', 'x-request-id', 'anthropic-version', 'anthropic-beta', 'anthropic-dangerous-direct-browser-access', 'openai-organization'],
      exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests', 'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
      maxAge: 600,
    });
  }

  fastify.addHook('onRequest', async (request, reply) => {
    lifecycle.track(reply.raw);
    reply.header('x-request-id', request.id);
    if (lifecycle.isDraining && !isOperationsPath(request.url)) {
      throw new ApiError(503, 'The server is shutting down', { code: 'shutting_down', headers: { connection: 'close' } });
    }
  });
  fastify.addHook('onResponse', async (request, reply) => {
    // The route template, not the URL, keeps label cardinality bounded; unmatched paths share one label.
    const route = request.routeOptions.url ?? 'unmatched';
    const { keyName } = requestContext(request);
    metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000, keyName);
    // request.log already carries the request id (reqId).
    request.log.info(
      { method: request.method, url: request.url, route, statusCode: reply.statusCode, durationMs: Math.round(reply.elapsedTime * 10) / 10, key: keyName },
      'request completed',
    );
  });
  // Before Nest's validation pipe, whose class-transformer recursion a deeply nested body could overflow.
  fastify.addHook('preValidation', async (request) => {
    if (jsonDepthExceeds(request.body, config.jsonMaxDepth)) {
      throw new ApiError(400, `The JSON body nests deeper than ${config.jsonMaxDepth} levels`, { code: 'invalid_request' });
    }
  });
  // Body parsing and size limits fail before Nest's router runs, so they need their own handler.
  fastify.setErrorHandler((error, request, reply) => sendError(error, request, reply, logger));
}
