import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeError, type DescribedError } from './common/errors/describe-error';
import { renderAnthropicError } from './anthropic/anthropic-error';
import { renderOpenAiError } from './openai/openai-error';
import type { RenderedError } from './common/errors/rendered-error';

/** The surfaces that answer in an envelope other than OpenAI's, by the path they live under. */
const ENVELOPES: Array<{ prefix: string; render: (error: DescribedError) => RenderedError }> = [{ prefix: '/anthropic', render: renderAnthropicError }];

/**
 * Renders an error in the envelope of the surface the URL belongs to, so everything under a surface
 * (validation, body too large, JSON depth, unknown routes, auth) speaks that API's language.
 */
export function renderErrorFor(url: string, error: DescribedError): RenderedError {
  const path = url.split('?', 1)[0];
  const surface = ENVELOPES.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`));
  return (surface?.render ?? renderOpenAiError)(error);
}

export function sendError(exception: unknown, request: FastifyRequest, reply: FastifyReply, logger: Pick<Logger, 'error'>): void {
  const error = describeError(exception);
  if (error.unexpected) {
    logger.error({ requestId: request.id, err: exception }, 'Request failed');
  }
  if (reply.sent) {
    return;
  }
  const rendered = renderErrorFor(request.url, error);
  void reply.status(rendered.status).headers(rendered.headers).type('application/json').send(rendered.body);
}

/** Registered as APP_FILTER: every exception a route throws leaves in its surface's envelope. */
@Catch()
export class SurfaceExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.logger);
  }
}
