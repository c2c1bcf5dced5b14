import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Caller } from '@mlx-omni/api-keys';
import type { FastifyRequest } from 'fastify';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Observable } from 'rxjs';

/**
 * The caller of the request being handled, for code far from the controller (the job queue records
 * the owner, generation charges the key's tokens) without threading it through every signature.
 */
@Injectable()
export class CallerContext {
  private readonly storage = new AsyncLocalStorage<Caller>();

  current(): Caller | undefined {
    return this.storage.getStore();
  }

  run<T>(caller: Caller, body: () => T): T {
    return this.storage.run(caller, body);
  }
}

/** Registered as APP_INTERCEPTOR: Nest binds the handler to the async context `next.handle()` is called in. */
@Injectable()
export class CallerContextInterceptor implements NestInterceptor {
  constructor(private readonly callers: CallerContext) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const caller = context.switchToHttp().getRequest<FastifyRequest>().caller;
    return caller === undefined ? next.handle() : this.callers.run(caller, () => next.handle());
  }
}
