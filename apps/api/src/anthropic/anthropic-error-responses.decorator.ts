import { ApiProperty } from '@nestjs/swagger';
import { documentErrorResponses, type ErrorEnvelopeDoc } from '../common/openapi/api-error-responses.decorator';
import { ANTHROPIC_ERROR_TYPES, anthropicErrorType, type AnthropicErrorBody, type AnthropicErrorType } from './anthropic-error';

export class AnthropicErrorObjectDto {
  @ApiProperty({ enum: ANTHROPIC_ERROR_TYPES })
  type!: AnthropicErrorType;

  @ApiProperty({ example: 'prompt is too long: 40000 tokens > 32768 maximum' })
  message!: string;
}

/** Anthropic's error envelope, which everything under /anthropic answers with. */
export class AnthropicErrorResponseDto implements AnthropicErrorBody {
  @ApiProperty({ enum: ['error'] })
  type!: 'error';

  @ApiProperty({ type: AnthropicErrorObjectDto })
  error!: AnthropicErrorObjectDto;
}

export const ANTHROPIC_ERROR_ENVELOPE: ErrorEnvelopeDoc = {
  schema: AnthropicErrorResponseDto,
  example: (status, { message }): AnthropicErrorBody => ({ type: 'error', error: { type: anthropicErrorType(status), message } }),
};

/** Documents Anthropic's error envelope for each status an /anthropic route can answer with. */
export function AnthropicErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return documentErrorResponses(ANTHROPIC_ERROR_ENVELOPE, statuses);
}
