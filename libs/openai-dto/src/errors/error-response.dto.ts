import { ApiProperty } from '@nestjs/swagger';

/** OpenAI's error types by HTTP status; like OpenAI, a 404 (e.g. an unknown model) is an invalid_request_error. */
export type OpenAiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'rate_limit_error'
  | 'server_error';

export class ErrorObjectDto {
  @ApiProperty({ example: 'messages.0.role must be one of: system, developer, user, assistant, tool' })
  message!: string;

  @ApiProperty({ example: 'invalid_request_error' })
  type!: OpenAiErrorType;

  @ApiProperty({ type: String, nullable: true, example: 'messages.0.role', description: 'The request field at fault, if any' })
  param!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'invalid_value' })
  code!: string | null;
}

/** The one error shape every route answers with: `{"error": {"message", "type", "param", "code"}}`. */
export class ErrorResponseDto {
  @ApiProperty({ type: ErrorObjectDto })
  error!: ErrorObjectDto;
}

export function errorTypeForStatus(status: number): OpenAiErrorType {
  if (status === 401) {
    return 'authentication_error';
  }
  if (status === 403) {
    return 'permission_error';
  }
  if (status === 429) {
    return 'rate_limit_error';
  }
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}
