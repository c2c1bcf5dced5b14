import { errorTypeForStatus, type ErrorResponseDto } from '@mlx-omni/openai-dto';
import type { DescribedError } from '../common/errors/describe-error';
import type { RenderedError } from '../common/errors/rendered-error';

/** OpenAI's envelope, `{"error": {"message", "type", "param", "code"}}`; the status is kept as described. */
export function renderOpenAiError(error: DescribedError): RenderedError<ErrorResponseDto> {
  const body: ErrorResponseDto & { details?: object } = {
    error: { message: error.message, type: errorTypeForStatus(error.status), param: error.param, code: error.code },
    ...(error.details === undefined ? {} : { details: error.details }),
  };
  return { status: error.status, headers: error.headers, body };
}
