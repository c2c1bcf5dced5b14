import { applyDecorators, type Type } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '@mlx-omni/openai-dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: `param` names the field at fault',
  401: 'Missing or invalid API key',
  403: "The API key's role may not do this (admin routes, other keys' jobs)",
  404: 'Not found',
  409: 'Conflicts with the current state (a model in use)',
  413: 'Request body too large',
  429: 'Rate limit reached; see Retry-After',
  500: 'Internal error',
  503: 'Not available right now (no worker, busy, or Redis down); see Retry-After',
  529: 'Every inference worker is full (Anthropic: overloaded_error); see Retry-After',
};

/** Documents `envelope` (the surface's error body) for each status a route can answer with, and 500. */
export function documentErrorResponses(envelope: Type, statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...[...new Set([...statuses, 500])].map((status) => ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error', type: envelope })),
  );
}

/** Documents the OpenAI error envelope for each status a route can answer with. */
export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return documentErrorResponses(ErrorResponseDto, statuses);
}
