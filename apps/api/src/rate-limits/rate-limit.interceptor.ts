import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { isOperationsPath } from '../auth/caller';
import { RateLimitService } from './rate-limit.service';

/** Registered as APP_INTERCEPTOR, so it runs after the API-key guard has named the caller. */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  constructor(private readonly limits: RateLimitService) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    if (request.caller === undefined || isOperationsPath(request.url)) {
      return next.handle();
    }
    const admission = await this.limits.admit(request.caller);
    const response = http.getResponse<FastifyReply>().raw;
    // On the raw response: they go out with whatever the route sends, a JSON body, an event stream or an error.
    for (const [name, value] of Object.entries(admission.headers)) {
      response.setHeader(name, value);
    }
    // 'close' comes once the response is over, whether it finished, failed or the client left.
    response.once('close', admission.release);
    return next.handle();
  }
}
