import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';

export class AnthropicUsageDto {
  @ApiProperty({ description: 'Prompt tokens not read from the prompt cache' })
  input_tokens!: number;

  @ApiProperty()
  output_tokens!: number;

  @ApiProperty({ description: "Prompt tokens the worker's prompt cache served" })
  cache_read_input_tokens!: number;

  @ApiProperty({ description: 'Always 0: the prompt cache fills itself, nothing is charged for writing it' })
  cache_creation_input_tokens!: number;
}

export type ResponseContentBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export class AnthropicResponseContentBlockDto {
  @ApiProperty({ enum: ['text', 'thinking', 'tool_use'] })
  type!: ResponseContentBlock['type'];

  @ApiPropertyOptional()
  text?: string;

  @ApiPropertyOptional()
  thinking?: string;

  @ApiPropertyOptional({ description: 'Opaque; send it back unchanged with the thinking block' })
  signature?: string;

  @ApiPropertyOptional({ example: 'toolu_01A09q90qw90lq917835lq9' })
  id?: string;

  @ApiPropertyOptional()
  name?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  input?: Record<string, unknown>;
}

/** Anthropic's Message object. */
export class AnthropicMessageDto {
  @ApiProperty({ example: 'msg_013Zva2CMHLNnXjNJJKqJ2EF' })
  id!: string;

  @ApiProperty({ enum: ['message'] })
  type!: 'message';

  @ApiProperty({ enum: ['assistant'] })
  role!: 'assistant';

  @ApiProperty({ description: 'The model as the request named it' })
  model!: string;

  @ApiProperty({ type: [AnthropicResponseContentBlockDto] })
  content!: ResponseContentBlock[];

  @ApiProperty({ enum: ['end_turn', 'max_tokens', 'stop_sequence', 'tool_use'], nullable: true })
  stop_reason!: StopReason | null;

  @ApiProperty({ type: String, nullable: true })
  stop_sequence!: string | null;

  @ApiProperty({ type: AnthropicUsageDto })
  usage!: AnthropicUsageDto;
}

export class AnthropicCountTokensResponseDto {
  @ApiProperty()
  input_tokens!: number;
}

/** Anthropic's model object. */
export class AnthropicModelDto {
  @ApiProperty({ enum: ['model'] })
  type!: 'model';

  @ApiProperty()
  id!: string;

  @ApiProperty()
  display_name!: string;

  @ApiProperty({ description: 'RFC 3339' })
  created_at!: string;
}

export class AnthropicModelListDto {
  @ApiProperty({ type: [AnthropicModelDto] })
  data!: AnthropicModelDto[];

  @ApiProperty()
  has_more!: boolean;

  @ApiProperty({ type: String, nullable: true })
  first_id!: string | null;

  @ApiProperty({ type: String, nullable: true })
  last_id!: string | null;
}
