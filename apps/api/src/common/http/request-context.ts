import type { FastifyRequest } from 'fastify';
import { ANONYMOUS } from '../../auth/caller';

/** Who asked, for the per-request log line and the per-key metrics; never the key itself. */
export interface RequestContext {
  requestId: string;
  /** The name of the API key the request presented; null when keys are off or none was accepted. */
  keyName: string | null;
}

export function requestContext(request: FastifyRequest): RequestContext {
  const caller = request.caller;
  return { requestId: String(request.id), keyName: caller === undefined || caller === ANONYMOUS ? null : caller.name };
}
