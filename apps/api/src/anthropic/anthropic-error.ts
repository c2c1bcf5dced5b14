import type { DescribedError } from '../common/errors/describe-error';
import type { RenderedError } from '../common/errors/rendered-error';

export const ANTHROPIC_ERROR_TYPES = [
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'not_found_error',
  'request_too_large',
  'rate_limit_error',
  'api_error',
  'overloaded_error',
] as const;
export type AnthropicErrorType = (typeof ANTHROPIC_ERROR_TYPES)[number];

/** `{"type": "error", "error": {"type", "message"}}`, as every Anthropic endpoint answers a failure. */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: AnthropicErrorType; message: string };
}

/** Refusals that mean "the workers are full": Anthropic says 529 overloaded, which its SDK retries with backoff. */
const OVERLOADED_CODES = new Set(['workers_busy', 'no_worker_available', 'model_pool_full']);
const OVERLOADED_STATUS = 529;

const TYPE_BY_STATUS: Record<number, AnthropicErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  [OVERLOADED_STATUS]: 'overloaded_error',
};

export function anthropicErrorType(status: number): AnthropicErrorType {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

function anthropicMessage(error: DescribedError): string {
  const { promptTokens, contextLength } = error.facts;
  // Claude Code matches this exact wording to decide that a conversation needs compacting.
  if (error.code === 'context_length_exceeded' && promptTokens !== undefined && contextLength !== undefined) {
    return `prompt is too long: ${promptTokens} tokens > ${contextLength} maximum`;
  }
  return error.message;
}

/** Anthropic's envelope and status map (400, 401, 403, 404, 413, 429, 500, 529). */
export function renderAnthropicError(error: DescribedError): RenderedError<AnthropicErrorBody> {
  const status = error.status === 503 && error.code !== null && OVERLOADED_CODES.has(error.code) ? OVERLOADED_STATUS : error.status;
  return { status, headers: error.headers, body: { type: 'error', error: { type: anthropicErrorType(status), message: anthropicMessage(error) } } };
}
