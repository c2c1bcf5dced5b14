import type { Caller } from '@mlx-omni/api-keys';
import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the API-key guard on every route it lets through, except open operational routes. */
    caller?: Caller;
  }
}

/** Who calls when no keys are configured: the single user of a laptop, allowed everything. */
export const ANONYMOUS: Caller = { name: 'anonymous', role: 'admin' };

/**
 * Liveness, readiness and metrics: open without a key unless MLX_OMNI_PROTECT_OPS is set (scrapers
 * and orchestrators rarely carry keys), never rate limited, and still answered while draining.
 */
const OPERATIONS_PATHS = ['/health', '/metrics'];

export function isOperationsPath(url: string): boolean {
  const path = url.split('?', 1)[0];
  return OPERATIONS_PATHS.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/** The request's caller; only for routes behind the guard, where it is always set. */
export function callerOf(request: FastifyRequest): Caller {
  if (request.caller === undefined) {
    throw new Error(`No caller on ${request.method} ${request.url}: the API-key guard did not run`);
  }
  return request.caller;
}
