import { HttpException } from '@nestjs/common';
import { errorTypeForStatus, type ErrorResponseDto } from '@mlx-omni/openai-dto';

/** Thrown by services to answer with a specific OpenAI error; everything else is mapped in `toErrorResponse`. */
export class OpenAiHttpException extends HttpException {
  constructor(
    status: number,
    message: string,
    options: { code?: string | null; param?: string | null; headers?: Record<string, string>; details?: object } = {},
  ) {
    const body: ErrorResponseDto & { details?: object } = {
      error: { message, type: errorTypeForStatus(status), param: options.param ?? null, code: options.code ?? null },
      ...(options.details === undefined ? {} : { details: options.details }),
    };
    super(body, status);
    this.headers = options.headers ?? {};
  }

  readonly headers: Record<string, string>;
}
