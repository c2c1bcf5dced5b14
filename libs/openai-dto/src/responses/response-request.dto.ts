import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  Equals,
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
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsObjectArray, IsPlainObject } from '../common/union-validators';

export const RESPONSE_CONTENT_TYPES = ['input_text', 'output_text', 'refusal', 'input_image', 'input_file', 'reasoning_text', 'summary_text'] as const;
export type ResponseContentType = (typeof RESPONSE_CONTENT_TYPES)[number];

/** A part of a message's content. Images and files are taken apart only to say they cannot be read. */
export class ResponseContentPartDto {
  @ApiProperty({ enum: RESPONSE_CONTENT_TYPES })
  @IsIn(RESPONSE_CONTENT_TYPES)
  type!: ResponseContentType;

  @ApiPropertyOptional()
  @ValidateIf((part: ResponseContentPartDto) => part.type !== 'input_image' && part.type !== 'input_file' && part.type !== 'refusal')
  @IsString()
  text?: string;

  @ApiPropertyOptional({ description: 'For type refusal' })
  @ValidateIf((part: ResponseContentPartDto) => part.type === 'refusal')
  @IsString()
  refusal?: string;
}

export const RESPONSE_ITEM_TYPES = ['message', 'function_call', 'function_call_output', 'reasoning', 'item_reference'] as const;
export type ResponseItemType = (typeof RESPONSE_ITEM_TYPES)[number];
export const RESPONSE_ROLES = ['user', 'system', 'developer', 'assistant'] as const;

const isMessage = (item: ResponseInputItemDto): boolean => item.type === undefined || item.type === 'message';
const isCall = (item: ResponseInputItemDto): boolean => item.type === 'function_call';
const isCallOutput = (item: ResponseInputItemDto): boolean => item.type === 'function_call_output';
const isReasoning = (item: ResponseInputItemDto): boolean => item.type === 'reasoning';

/**
 * One input item: a message (`type` may be left out), a function call and its output, or a reasoning
 * item from an earlier turn. One class with the fields of each, checked by `type`: an item of a
 * kind this server does not run (web search calls, computer calls, …) fails on `type` itself.
 */
export class ResponseInputItemDto {
  @ApiPropertyOptional({ enum: RESPONSE_ITEM_TYPES, default: 'message' })
  @IsOptional()
  @IsIn(RESPONSE_ITEM_TYPES, { message: `$property must be one of ${RESPONSE_ITEM_TYPES.join(', ')}: built-in tool items do not run on this server` })
  type?: ResponseItemType;

  @ApiPropertyOptional({ description: 'Item id (msg_, fc_, rs_, …); kept when given' })
  @IsOptional()
  @IsString()
  id?: string;

  @ApiPropertyOptional({ enum: RESPONSE_ROLES, description: 'message' })
  @ValidateIf(isMessage)
  @IsIn(RESPONSE_ROLES)
  role?: (typeof RESPONSE_ROLES)[number];

  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'array', items: { $ref: getSchemaPath(ResponseContentPartDto) } }], description: 'message: text or parts; reasoning: reasoning_text parts' })
  @ValidateIf((item: ResponseInputItemDto) => (isMessage(item) && typeof item.content !== 'string') || (isReasoning(item) && item.content !== undefined && item.content !== null))
  @IsArray()
  @IsObjectArray()
  @ValidateNested({ each: true })
  @Type(() => ResponseContentPartDto)
  content?: string | ResponseContentPartDto[] | null;

  @ApiPropertyOptional({ description: 'function_call, function_call_output' })
  @ValidateIf((item: ResponseInputItemDto) => isCall(item) || isCallOutput(item))
  @IsString()
  @IsNotEmpty()
  call_id?: string;

  @ApiPropertyOptional({ description: 'function_call' })
  @ValidateIf(isCall)
  @IsString()
  @IsNotEmpty()
  name?: string;

  @ApiPropertyOptional({ description: 'function_call: JSON text of the arguments' })
  @ValidateIf(isCall)
  @IsString()
  arguments?: string;

  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'array', items: { $ref: getSchemaPath(ResponseContentPartDto) } }], description: 'function_call_output' })
  @ValidateIf((item: ResponseInputItemDto) => isCallOutput(item) && typeof item.output !== 'string')
  @IsArray()
  @IsObjectArray()
  @ValidateNested({ each: true })
  @Type(() => ResponseContentPartDto)
  output?: string | ResponseContentPartDto[];

  @ApiPropertyOptional({ type: [ResponseContentPartDto], description: 'reasoning: summary_text parts' })
  @ValidateIf(isReasoning)
  @IsArray()
  @IsObjectArray()
  @ValidateNested({ each: true })
  @Type(() => ResponseContentPartDto)
  summary?: ResponseContentPartDto[];

  @ApiPropertyOptional({ type: String, nullable: true, description: 'reasoning: as this server returned it with include ["reasoning.encrypted_content"]' })
  @IsOptional()
  @IsString()
  encrypted_content?: string | null;

  @ApiPropertyOptional({ enum: ['in_progress', 'completed', 'incomplete'] })
  @IsOptional()
  @IsIn(['in_progress', 'completed', 'incomplete'])
  status?: 'in_progress' | 'completed' | 'incomplete';
}

/** A function tool; OpenAI's built-in tools (web search, file search, computer use, MCP, …) have other types and are refused. */
export class ResponseFunctionToolDto {
  @ApiProperty({ enum: ['function'] })
  @Equals('function', { message: '$property must be "function": built-in tools (web search, file search, code interpreter, computer use, MCP, …) do not run on this server' })
  type!: 'function';

  @ApiProperty({ example: 'get_weather' })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: '$property must be 1-64 letters, digits, underscores or dashes' })
  name!: string;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @IsString()
  description?: string | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true, description: 'JSON Schema of the arguments' })
  @IsOptional()
  @IsPlainObject()
  parameters?: Record<string, unknown> | null;

  @ApiPropertyOptional({ type: Boolean, nullable: true })
  @IsOptional()
  @IsBoolean()
  strict?: boolean | null;
}

/** `tool_choice`: "none" | "auto" | "required" | {"type": "function", "name": ...}. */
function IsResponseToolChoice(): PropertyDecorator {
  return ValidateBy({
    name: 'isResponseToolChoice',
    validator: {
      validate: (value: unknown) =>
        value === 'none' ||
        value === 'auto' ||
        value === 'required' ||
        (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'function' && typeof (value as { name?: unknown }).name === 'string'),
      defaultMessage: () => '$property must be "none", "auto", "required" or {"type": "function", "name": string}; hosted tool choices do not run on this server',
    },
  });
}

export type ResponseToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; name: string };

export class ResponseTextFormatDto {
  @ApiProperty({ enum: ['text', 'json_object', 'json_schema'] })
  @IsIn(['text', 'json_object', 'json_schema'])
  type!: 'text' | 'json_object' | 'json_schema';

  @ApiPropertyOptional({ description: 'json_schema' })
  @ValidateIf((format: ResponseTextFormatDto) => format.type === 'json_schema')
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: '$property must be 1-64 letters, digits, underscores or dashes' })
  name?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'json_schema' })
  @ValidateIf((format: ResponseTextFormatDto) => format.type === 'json_schema')
  @IsPlainObject()
  schema?: Record<string, unknown>;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  description?: string;

  @ApiPropertyOptional({ type: Boolean, nullable: true })
  @IsOptional()
  @IsBoolean()
  strict?: boolean | null;
}

export class ResponseTextConfigDto {
  @ApiPropertyOptional({ type: ResponseTextFormatDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ResponseTextFormatDto)
  format?: ResponseTextFormatDto;

  @ApiPropertyOptional({ enum: ['low', 'medium', 'high'], description: 'Accepted; the model decides its length' })
  @IsOptional()
  @IsIn(['low', 'medium', 'high'])
  verbosity?: 'low' | 'medium' | 'high';
}

export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

export class ResponseReasoningConfigDto {
  @ApiPropertyOptional({ enum: REASONING_EFFORTS, description: "Passed to the chat template (`reasoning_effort`); `none` also turns Qwen3's thinking off" })
  @IsOptional()
  @IsIn(REASONING_EFFORTS)
  effort?: ReasoningEffort;

  @ApiPropertyOptional({ enum: ['auto', 'concise', 'detailed'], nullable: true, description: 'Accepted; reasoning is returned whole, not summarised' })
  @IsOptional()
  @IsIn(['auto', 'concise', 'detailed'])
  summary?: 'auto' | 'concise' | 'detailed' | null;
}

/** Refuses a field this server does not implement with a sentence that says so (rather than ignoring it). */
function IsUnsupported(what: string): PropertyDecorator {
  return ValidateBy({
    name: 'isUnsupported',
    validator: {
      validate: (value: unknown) => value === undefined || value === null || value === false,
      defaultMessage: () => `$property: ${what} is not supported by this server`,
    },
  });
}

/** `metadata`: up to 16 string values, keys up to 64 characters, values up to 512 (OpenAI's limits). */
function IsMetadata(): PropertyDecorator {
  return ValidateBy({
    name: 'isMetadata',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        Object.keys(value).length <= 16 &&
        Object.entries(value).every(([key, text]) => key.length <= 64 && typeof text === 'string' && text.length <= 512),
      defaultMessage: () => '$property must map at most 16 keys (up to 64 characters) to strings (up to 512 characters)',
    },
  });
}

export class CreateResponseRequestDto {
  @ApiProperty({ example: 'mlx-community/Qwen3-4B-4bit' })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { $ref: getSchemaPath(ResponseInputItemDto) } }] })
  @ValidateIf((request: CreateResponseRequestDto) => typeof request.input !== 'string')
  @IsArray()
  @IsObjectArray()
  @ValidateNested({ each: true })
  @Type(() => ResponseInputItemDto)
  input!: string | ResponseInputItemDto[];

  @ApiPropertyOptional({ type: String, nullable: true, description: 'A system message for this response only: previous_response_id does not carry it over' })
  @IsOptional()
  @IsString()
  instructions?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  previous_response_id?: string | null;

  @ApiPropertyOptional({ minimum: 1, type: Number, nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  max_output_tokens?: number | null;

  @ApiPropertyOptional({ type: [ResponseFunctionToolDto] })
  @IsOptional()
  @IsArray()
  @IsObjectArray()
  @ValidateNested({ each: true })
  @Type(() => ResponseFunctionToolDto)
  tools?: ResponseFunctionToolDto[];

  @ApiPropertyOptional({ oneOf: [{ type: 'string', enum: ['none', 'auto', 'required'] }, { type: 'object' }] })
  @IsOptional()
  @IsResponseToolChoice()
  tool_choice?: ResponseToolChoice;

  @ApiPropertyOptional({ type: Boolean, nullable: true, default: true })
  @IsOptional()
  @IsBoolean()
  parallel_tool_calls?: boolean | null;

  @ApiPropertyOptional({ type: ResponseTextConfigDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ResponseTextConfigDto)
  text?: ResponseTextConfigDto;

  @ApiPropertyOptional({ type: ResponseReasoningConfigDto, nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => ResponseReasoningConfigDto)
  reasoning?: ResponseReasoningConfigDto | null;

  @ApiPropertyOptional({ minimum: 0, maximum: 2, type: Number, nullable: true, default: 1 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number | null;

  @ApiPropertyOptional({ minimum: 0, maximum: 1, type: Number, nullable: true, default: 1, description: '0 picks the most likely token' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  top_p?: number | null;

  @ApiPropertyOptional({ type: Boolean, nullable: true, default: true, description: 'Keep the response (MLX_OMNI_RESPONSES_TTL_S) for GET and previous_response_id' })
  @IsOptional()
  @IsBoolean()
  store?: boolean | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, nullable: true })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string> | null;

  @ApiPropertyOptional({ type: Boolean, nullable: true })
  @IsOptional()
  @IsBoolean()
  stream?: boolean | null;

  @ApiPropertyOptional({ type: [String], description: 'reasoning.encrypted_content returns reasoning items that can be sent back with store: false' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @IsString({ each: true })
  include?: string[];

  @ApiPropertyOptional({ enum: ['auto', 'disabled'], nullable: true, description: 'Accepted; a prompt over the context is refused either way' })
  @IsOptional()
  @IsIn(['auto', 'disabled'])
  truncation?: 'auto' | 'disabled' | null;

  @ApiPropertyOptional({ description: 'Refused when true: background responses are not supported' })
  @IsUnsupported('background mode')
  background?: boolean | null;

  @ApiPropertyOptional({ description: 'Refused when set: conversations are not supported; chain with previous_response_id' })
  @IsUnsupported('a conversation (use previous_response_id)')
  conversation?: unknown;

  @ApiPropertyOptional({ description: 'Refused when set: stored prompt templates are not supported' })
  @IsUnsupported('a stored prompt template')
  prompt?: unknown;
}
