import { HttpException, HttpStatus } from '@nestjs/common';
import { IpcConnectionClosedError, IpcRemoteError, IpcTimeoutError } from '@mlx-omni/ipc';
import { errorTypeForStatus, type ErrorResponseDto } from '@mlx-omni/openai-dto';
import { OpenAiHttpException } from './openai-http.exception';

export interface MappedError {
  status: number;
  body: ErrorResponseDto;
  headers: Record<string, string>;
  /** True for faults of ours (5xx that are not deliberate refusals): these are logged with their stack. */
  unexpected: boolean;
}

function envelope(status: number, message: string, code: string | null, param: string | null = null): ErrorResponseDto {
  return { error: { message, type: errorTypeForStatus(status), param, code } };
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

/** The one place that turns any thrown value into OpenAI's error envelope and an HTTP status. */
export function toErrorResponse(error: unknown): MappedError {
  if (error instanceof OpenAiHttpException) {
    return { status: error.getStatus(), body: error.getResponse() as ErrorResponseDto, headers: error.headers, unexpected: false };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = status === HttpStatus.NOT_FOUND ? 'not_found' : null;
    return { status, body: envelope(status, httpExceptionMessage(error.getResponse()), code), headers: {}, unexpected: status >= 500 };
  }
  if (isFastifyError(error) && error.statusCode < 500) {
    // JSON.parse's own message would echo parts of the body; a fixed sentence says enough.
    const known = FASTIFY_CODES[error.code];
    const message = known?.message ?? error.message;
    return { status: error.statusCode, body: envelope(error.statusCode, message, known?.code ?? 'invalid_request'), headers: {}, unexpected: false };
  }
  if (error instanceof IpcRemoteError) {
    const body = envelope(error.status, error.message, error.code, error.param);
    return { status: error.status, body, headers: error.status === 503 ? { 'retry-after': '1' } : {}, unexpected: error.status === 500 };
  }
  if (error instanceof IpcConnectionClosedError || error instanceof IpcTimeoutError) {
    const message = 'The inference worker handling this request stopped answering; retry shortly';
    return { status: 503, body: envelope(503, message, 'worker_unavailable'), headers: { 'retry-after': '1' }, unexpected: false };
  }
  return { status: 500, body: envelope(500, 'Internal server error', 'internal_error'), headers: {}, unexpected: true };
}
