import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from './error-response';

/** Registered as APP_FILTER: every exception a route throws leaves as OpenAI's error envelope. */
@Catch()
export class OpenAiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.logger);
  }
}

export function sendError(exception: unknown, request: FastifyRequest, reply: FastifyReply, logger: Pick<Logger, 'error'>): void {
  const mapped = toErrorResponse(exception);
  if (mapped.unexpected) {
    logger.error({ requestId: request.id, err: exception }, 'Request failed');
  }
  if (reply.sent) {
    return;
  }
  void reply.status(mapped.status).headers(mapped.headers).type('application/json').send(mapped.body);
}
