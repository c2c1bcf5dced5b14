import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/**
 * Model routes take the id as one segment (`gemma-3`, or URL-encoded as clients such as the
 * OpenAI SDK send `org%2Fname` and absolute paths) or as the two segments of `org/name`.
 */
export const MODEL_ID_PATHS = [':id', ':org/:name'];

/** The two-segment form as OpenAPI writes it: documented once, by the one-segment form. */
export const MODEL_ID_ALIAS_SEGMENTS = ['{org}/{name}'];

export const ModelIdParam = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const params = context.switchToHttp().getRequest<FastifyRequest>().params as Record<string, string | undefined>;
  return params.org !== undefined && params.name !== undefined ? `${params.org}/${params.name}` : params.id!;
});
