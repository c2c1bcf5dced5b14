import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsObjectArray, IsPlainObject } from '@mlx-omni/openai-dto';
import { AnthropicCacheControlDto, AnthropicContentBlockDto, ContentBlocksType, AnthropicTextBlockDto, type RequestContentBlock } from './content-blocks.dto';

export class AnthropicMessageParamDto {
  @ApiProperty({ enum: ['user', 'assistant'] })
  @IsIn(['user', 'assistant'])
  role!: 'user' | 'assistant';

  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { $ref: getSchemaPath(AnthropicContentBlockDto) } }] })
  @ValidateIf((message: AnthropicMessageParamDto) => typeof message.content !== 'string')
  @IsArray()
  @IsObjectArray()
  @ValidateNested({ each: true })
  @ContentBlocksType()
  content!: string | RequestContentBlock[];
}

/** A custom tool. Anthropic's server tools (web search, code execution, …) have other types and are refused. */
export class AnthropicToolDto {
  @ApiPropertyOptional({ enum: ['custom'] })
  @IsOptional()
  @IsIn(['custom'], { message: '$property must be "custom": server tools (web search, code execution, bash, text editor) do not run on this server' })
  type?: 'custom';

  @ApiProperty({ example: 'get_weather' })
  @IsString()
  @Matches(/^[a-zA-Z0-9_-]{1,128}$/, { message: '$property must be 1-128 letters, digits, "_" or "-"' })
  name!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  description?: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'JSON Schema of the input (draft 2020-12 or draft-07)' })
  @IsPlainObject()
  input_schema!: Record<string, unknown>;

  @ApiPropertyOptional({ type: AnthropicCacheControlDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => AnthropicCacheControlDto)
  cache_control?: AnthropicCacheControlDto;
}

export class AnthropicToolChoiceDto {
  @ApiProperty({ enum: ['auto', 'any', 'tool', 'none'] })
  @IsIn(['auto', 'any', 'tool', 'none'])
  type!: 'auto' | 'any' | 'tool' | 'none';

  @ApiPropertyOptional({ description: 'For type "tool": the tool that must be called' })
  @ValidateIf((choice: AnthropicToolChoiceDto) => choice.type === 'tool')
  @IsString()
  @IsNotEmpty()
  name?: string;

  @ApiPropertyOptional({ description: 'At most one tool call per turn' })
  @IsOptional()
  @IsBoolean()
  disable_parallel_tool_use?: boolean;
}

export class AnthropicThinkingConfigDto {
  @ApiProperty({ enum: ['enabled', 'adaptive', 'disabled'], description: 'enabled / adaptive: the template renders with thinking on; disabled: off' })
  @IsIn(['enabled', 'adaptive', 'disabled'])
  type!: 'enabled' | 'adaptive' | 'disabled';

  @ApiPropertyOptional({ description: 'Accepted; max_tokens bounds thinking and answer together' })
  @ValidateIf((thinking: AnthropicThinkingConfigDto) => thinking.type === 'enabled')
  @IsInt()
  @Min(1)
  budget_tokens?: number;
}

export class AnthropicMetadataDto {
  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @IsString()
  user_id?: string | null;
}

/** What shapes the prompt: the fields count_tokens reads. */
export class AnthropicMessagesPromptDto {
  @ApiProperty({ example: 'mlx-community/Qwen3-4B-4bit', description: 'A local model id, or an alias (MLX_OMNI_MODEL_ALIASES) such as claude-sonnet-4-5' })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @ApiProperty({ type: [AnthropicMessageParamDto] })
  @IsArray()
  @IsObjectArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => AnthropicMessageParamDto)
  messages!: AnthropicMessageParamDto[];

  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'array', items: { $ref: getSchemaPath(AnthropicTextBlockDto) } }] })
  @IsOptional()
  @ValidateIf((request: AnthropicMessagesPromptDto) => typeof request.system !== 'string')
  @IsArray()
  @IsObjectArray()
  @ValidateNested({ each: true })
  @Type(() => AnthropicTextBlockDto)
  system?: string | AnthropicTextBlockDto[];

  @ApiPropertyOptional({ type: [AnthropicToolDto] })
  @IsOptional()
  @IsArray()
  @IsObjectArray()
  @ValidateNested({ each: true })
  @Type(() => AnthropicToolDto)
  tools?: AnthropicToolDto[];

  @ApiPropertyOptional({ type: AnthropicToolChoiceDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => AnthropicToolChoiceDto)
  tool_choice?: AnthropicToolChoiceDto;

  @ApiPropertyOptional({ type: AnthropicThinkingConfigDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => AnthropicThinkingConfigDto)
  thinking?: AnthropicThinkingConfigDto;
}

export class AnthropicMessagesRequestDto extends AnthropicMessagesPromptDto {
  @ApiProperty({ example: 1024, description: 'Required, as Anthropic requires it' })
  @IsInt()
  @Min(1)
  max_tokens!: number;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  stop_sequences?: string[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional({ minimum: 0, maximum: 1, description: 'Default 1' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  temperature?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 1, description: 'Nucleus sampling; 0 picks the most likely token' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  top_p?: number;

  @ApiPropertyOptional({ minimum: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  top_k?: number;

  @ApiPropertyOptional({ type: AnthropicMetadataDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => AnthropicMetadataDto)
  metadata?: AnthropicMetadataDto;
}
