import { ApiProperty } from '@nestjs/swagger';
import { documentErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { ANTHROPIC_ERROR_TYPES, type AnthropicErrorBody, type AnthropicErrorType } from './anthropic-error';

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

/** Documents Anthropic's error envelope for each status an /anthropic route can answer with. */
export function AnthropicErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return documentErrorResponses(AnthropicErrorResponseDto, statuses);
}
