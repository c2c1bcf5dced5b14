import { HttpException, HttpStatus } from '@nestjs/common';
import { IpcConnectionClosedError, IpcRemoteError, IpcTimeoutError } from '@mlx-omni/ipc';
import { ApiError } from './api-error';

/** Any thrown value as a surface renders it: status, reason and message, in no API's words yet. */
export interface DescribedError {
  status: number;
  message: string;
  code: string | null;
  param: string | null;
  headers: Record<string, string>;
  details: object | undefined;
  facts: Record<string, number>;
  /** True for faults of ours (5xx that are not deliberate refusals): these are logged with their stack. */
  unexpected: boolean;
}

/** Fastify's own errors (body parsing, size limits) carry a status and an FST_ code. */
function isFastifyError(error: unknown): error is Error & { statusCode: number; code: string } {
  return error instanceof Error && typeof (error as { statusCode?: unknown }).statusCode === 'number' && typeof (error as { code?: unknown }).code === 'string';
}

const FASTIFY_CODES: Record<string, { code: string; message?: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_json', message: 'The request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'invalid_json', message: 'The request body is empty but the content type is application/json' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'request_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'invalid_content_length' },
  // Fastify's own messages for these echo the whole path back.
  FST_ERR_BAD_URL: { code: 'invalid_url', message: 'The URL is not valid' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'invalid_url', message: 'A path parameter is longer than the server accepts' },
};

function httpExceptionMessage(response: string | object): string {
  if (typeof response === 'string') {
    return response;
  }
  const message = (response as { message?: unknown }).message;
  return Array.isArray(message) ? message.join('; ') : String(message ?? 'Request failed');
}

function described(status: number, message: string, fields: Partial<DescribedError> = {}): DescribedError {
  return { status, message, code: null, param: null, headers: {}, details: undefined, facts: {}, unexpected: false, ...fields };
}

/** The one place that turns any thrown value into a status and a reason; surfaces only choose the words and the envelope. */
export function describeError(error: unknown): DescribedError {
  if (error instanceof ApiError) {
    const { code, param, headers, details, facts } = error;
    return described(error.status, error.message, { code, param, headers, details, facts });
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    return described(status, httpExceptionMessage(error.getResponse()), { code: status === HttpStatus.NOT_FOUND ? 'not_found' : null, unexpected: status >= 500 });
  }
  if (isFastifyError(error) && error.statusCode < 500) {
    // JSON.parse's own message would echo parts of the body; a fixed sentence says enough.
    const known = FASTIFY_CODES[error.code];
    return described(error.statusCode, known?.message ?? error.message, { code: known?.code ?? 'invalid_request' });
  }
  if (error instanceof IpcRemoteError) {
    return described(error.status, error.message, {
      code: error.code,
      param: error.param,
      headers: error.status === 503 ? { 'retry-after': '1' } : {},
      facts: error.facts,
      unexpected: error.status === 500,
    });
  }
  if (error instanceof IpcConnectionClosedError || error instanceof IpcTimeoutError) {
    return described(503, 'The inference worker handling this request stopped answering; retry shortly', { code: 'worker_unavailable', headers: { 'retry-after': '1' } });
  }
  return described(500, 'Internal server error', { code: 'internal_error', unexpected: true });
}
