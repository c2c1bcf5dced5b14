import { Logger, type INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Logger as PinoLogger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { OmniConfig } from '@mlx-omni/config';
import { OpenAiHttpException } from './common/errors/openai-http.exception';
import { sendError } from './common/errors/openai-exception.filter';
import { LifecycleService } from './lifecycle/lifecycle.service';
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
  });
}

/** Paths that stay open while draining, so orchestrators can watch the shutdown. */
const ALWAYS_OPEN = ['/health', '/metrics'];

/** Hooks that wrap every request: request-id echo, latency metrics, refusal while draining, and error mapping outside Nest's routes. */
export function installHttpHooks(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(MetricsService);
  const lifecycle = app.get(LifecycleService);
  const logger = new Logger('Http');

  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (lifecycle.isDraining && !ALWAYS_OPEN.some((path) => request.url.startsWith(path))) {
      throw new OpenAiHttpException(503, 'The server is shutting down', { code: 'shutting_down', headers: { connection: 'close' } });
    }
  });
  fastify.addHook('onResponse', async (request, reply) => {
    // The route template, not the URL, keeps label cardinality bounded; unmatched paths share one label.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  // Body parsing and size limits fail before Nest's router runs, so they need their own handler.
  fastify.setErrorHandler((error, request, reply) => sendError(error, request, reply, logger));
}

export function installSwagger(app: INestApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('MLX Omni Server')
      .setDescription('OpenAI- and Anthropic-compatible local inference on Apple MLX. Errors use OpenAI\'s `{"error": {...}}` envelope.')
      .setVersion('0.1.0')
      .addBearerAuth()
      .addTag('chat', 'Chat completions (OpenAI)')
      .addTag('completions', 'Legacy text completions (OpenAI)')
      .addTag('health', 'Liveness and readiness')
      .addTag('metrics', 'Prometheus metrics')
      .addTag('workers', 'Inference worker processes')
      .addTag('jobs', 'Long jobs queued on Redis')
      .addTag('diagnostics', 'Checks of the MLX backend')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json', yamlDocumentUrl: 'docs/yaml' });
}
