import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { ResponseObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ErrorResponseDto, errorTypeForStatus } from '@mlx-omni/openai-dto';

/** Per status: what it means, and one real answer of this server (param in its `messages[0].role` form). */
const ERRORS: Record<number, { description: string; message: string; param: string | null; code: string }> = {
  400: {
    description: 'Invalid request: `param` names the field at fault',
    message: 'messages[0].role must be one of the following values: system, developer, user, assistant, tool',
    param: 'messages[0].role',
    code: 'invalid_value',
  },
  401: {
    description: 'Missing or invalid API key (when keys are configured): use Authorize',
    message: 'You didn\'t provide an API key. Send it as "Authorization: Bearer KEY" or "x-api-key: KEY".',
    param: null,
    code: 'invalid_api_key',
  },
  403: {
    description: "The API key's role may not do this (admin routes, other keys' jobs)",
    message: 'This route needs an admin key; key "alice" has role user',
    param: null,
    code: 'insufficient_permissions',
  },
  404: {
    description: 'Not found',
    message: 'Model "org/name" is not downloaded (or its download is incomplete). Pull it with `mlx-omni-server models pull org/name` or POST /v1/models/pull {"model": "org/name"}.',
    param: 'model',
    code: 'model_not_found',
  },
  409: {
    description: 'Conflicts with the current state (a model in use, a job still running)',
    message: 'Model "org/name" is loaded on a worker; unload it first (POST /v1/models/org/name/unload).',
    param: 'model',
    code: 'model_in_use',
  },
  413: { description: 'Request body too large', message: 'Request body is too large', param: null, code: 'request_too_large' },
  429: {
    description: 'A per-key rate limit was reached (when limits are configured); see Retry-After and x-ratelimit-*',
    message: 'Rate limit reached for key "alice": 60 requests per minute. Retry shortly.',
    param: null,
    code: 'rate_limit_exceeded',
  },
  500: { description: 'Internal error', message: 'Internal error; the request id is in the x-request-id header', param: null, code: 'internal_error' },
  503: {
    description: 'Not available right now (no worker, busy, or Redis down); see Retry-After',
    message: 'No inference worker is available; retry shortly',
    param: null,
    code: 'no_worker_available',
  },
  529: {
    description: 'Every inference worker is full (Anthropic says overloaded_error); see Retry-After',
    message: 'All inference workers are busy; retry shortly',
    param: null,
    code: 'workers_busy',
  },
};

/** An API surface's error body, for the document: its schema, and its example of an error. */
export interface ErrorEnvelopeDoc {
  schema: Type;
  example(status: number, error: { message: string; param: string | null; code: string }): object;
}

export const OPENAI_ERROR_ENVELOPE: ErrorEnvelopeDoc = {
  schema: ErrorResponseDto,
  example: (status, { message, param, code }) => ({ error: { message, type: errorTypeForStatus(status), param, code } }),
};

/** The documented response for an error status: the surface's envelope, with this server's example of it. */
export function errorResponse(status: number, envelope: ErrorEnvelopeDoc = OPENAI_ERROR_ENVELOPE): ResponseObject {
  const error = ERRORS[status] ?? { description: 'Error', message: 'Error', param: null, code: 'error' };
  return {
    description: error.description,
    content: { 'application/json': { schema: { $ref: getSchemaPath(envelope.schema) }, example: envelope.example(status, error) } },
  };
}

/** Documents `envelope` for each status a route can answer with (and 500). */
export function documentErrorResponses(envelope: ErrorEnvelopeDoc, statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(envelope.schema),
    ...[...new Set([...statuses, 500])].map((status) => ApiResponse({ status, ...errorResponse(status, envelope) })),
  );
}

/**
 * Documents the OpenAI error envelope for each status a route can answer with (and 500). 401 and 429
 * are added to every protected route where the document is built (installSwagger), from the same rule
 * the API-key guard and the rate limits apply, in the envelope of the route's surface.
 */
export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return documentErrorResponses(OPENAI_ERROR_ENVELOPE, statuses);
}
