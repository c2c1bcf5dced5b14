import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeError, type DescribedError } from './common/errors/describe-error';
import { renderAnthropicError } from './anthropic/anthropic-error';
import { ANTHROPIC_ERROR_ENVELOPE } from './anthropic/anthropic-error-responses.decorator';
import type { RenderedError } from './common/errors/rendered-error';
import { OPENAI_ERROR_ENVELOPE, type ErrorEnvelopeDoc } from './common/openapi/api-error-responses.decorator';
import { renderOpenAiError } from './openai/openai-error';

interface Surface {
  render: (error: DescribedError) => RenderedError;
  /** How the OpenAPI document shows its errors. */
  doc: ErrorEnvelopeDoc;
}

const OPENAI: Surface = { render: renderOpenAiError, doc: OPENAI_ERROR_ENVELOPE };

/** The surfaces that answer in an envelope other than OpenAI's, by the path they live under. */
const SURFACES: Array<Surface & { prefix: string }> = [{ prefix: '/anthropic', render: renderAnthropicError, doc: ANTHROPIC_ERROR_ENVELOPE }];

function surfaceOf(url: string): Surface {
  const path = url.split('?', 1)[0];
  return SURFACES.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`)) ?? OPENAI;
}

/**
 * Renders an error in the envelope of the surface the URL belongs to, so everything under a surface
 * (validation, body too large, JSON depth, unknown routes, auth) speaks that API's language.
 */
export function renderErrorFor(url: string, error: DescribedError): RenderedError {
  return surfaceOf(url).render(error);
}

/** The error envelope the document shows for a path (the 401 and 429 every protected route gets). */
export function errorEnvelopeDocFor(path: string): ErrorEnvelopeDoc {
  return surfaceOf(path).doc;
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
