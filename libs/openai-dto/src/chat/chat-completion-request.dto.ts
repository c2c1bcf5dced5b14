import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
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
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsLogitBias, IsObjectArray, IsPlainObject, IsStopSequences } from '../common/union-validators';

export const CHAT_ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export class ChatContentPartDto {
  /** Only text parts are accepted until vision models are served. */
  @ApiProperty({ enum: ['text'] })
  type!: 'text';

  text!: string;
}

/**
 * `content`: a string, an array of text parts, or null (assistant messages with tool calls).
 * Image and audio parts get a sentence that says why, rather than a generic type error.
 */
function IsMessageContent(): PropertyDecorator {
  return ValidateBy({
    name: 'isMessageContent',
    validator: {
      validate: (value: unknown) =>
        value === null ||
        typeof value === 'string' ||
        (Array.isArray(value) &&
          value.every((part) => typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text' && typeof (part as { text?: unknown }).text === 'string')),
      defaultMessage: (args) => {
        const parts = Array.isArray(args?.value) ? (args!.value as Array<{ type?: unknown }>) : [];
        const unsupported = parts.find((part) => typeof part === 'object' && part !== null && part.type !== 'text');
        return unsupported
          ? `$property contains a "${String(unsupported.type)}" part; this server accepts text content only (no vision or audio model is loaded)`
          : '$property must be a string, null, or an array of {"type": "text", "text": string} parts';
      },
    },
  });
}

export class ToolCallFunctionDto {
  @IsString()
  @IsNotEmpty()
  name!: string;

  /** JSON text of the arguments, as OpenAI sends it. */
  @IsString()
  arguments!: string;
}

export class ToolCallDto {
  @IsString()
  @IsNotEmpty()
  id!: string;

  @ApiProperty({ enum: ['function'] })
  @Equals('function')
  type!: 'function';

  @ValidateNested()
  @Type(() => ToolCallFunctionDto)
  function!: ToolCallFunctionDto;
}

export class ChatMessageDto {
  @IsIn(CHAT_ROLES)
  role!: ChatRole;

  @ApiPropertyOptional({
    oneOf: [{ type: 'string' }, { type: 'array', items: { $ref: getSchemaPath(ChatContentPartDto) } }],
    nullable: true,
  })
  // Assistant turns that only call tools may omit content; every other role must send it.
  @ValidateIf((message: ChatMessageDto) => message.role !== 'assistant' || message.content !== undefined)
  @IsMessageContent()
  content?: string | ChatContentPartDto[] | null;

  @IsOptional()
  @IsString()
  name?: string;

  @IsOptional()
  @IsArray()
  @IsObjectArray()
  @ValidateNested({ each: true })
  @Type(() => ToolCallDto)
  tool_calls?: ToolCallDto[];

  /** Required for role "tool": the id of the call this answers. */
  @ValidateIf((message: ChatMessageDto) => message.role === 'tool')
  @IsString()
  @IsNotEmpty()
  tool_call_id?: string;
}

export class FunctionDefinitionDto {
  @ApiProperty({ example: 'get_weather' })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: '$property must be 1-64 letters, digits, underscores or dashes' })
  name!: string;

  @IsOptional()
  @IsString()
  description?: string;

  /** JSON Schema of the arguments. */
  @IsOptional()
  @IsPlainObject()
  parameters?: Record<string, unknown>;

  @IsOptional()
  @IsBoolean()
  strict?: boolean;
}

export class ToolDto {
  @ApiProperty({ enum: ['function'] })
  @Equals('function')
  type!: 'function';

  @ValidateNested()
  @Type(() => FunctionDefinitionDto)
  function!: FunctionDefinitionDto;
}

/** `tool_choice`: "none" | "auto" | "required" | {"type": "function", "function": {"name": ...}}. */
function IsToolChoice(): PropertyDecorator {
  return ValidateBy({
    name: 'isToolChoice',
    validator: {
      validate: (value: unknown) =>
        value === 'none' ||
        value === 'auto' ||
        value === 'required' ||
        (typeof value === 'object' &&
          value !== null &&
          (value as { type?: unknown }).type === 'function' &&
          typeof (value as { function?: { name?: unknown } }).function?.name === 'string'),
      defaultMessage: () => '$property must be "none", "auto", "required" or {"type": "function", "function": {"name": string}}',
    },
  });
}

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export class JsonSchemaFormatDto {
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: '$property must be 1-64 letters, digits, underscores or dashes' })
  name!: string;

  @IsOptional()
  @IsString()
  description?: string;

  /** The JSON Schema the output is held to while decoding. */
  @IsOptional()
  @IsPlainObject()
  schema?: Record<string, unknown>;

  @IsOptional()
  @IsBoolean()
  strict?: boolean;
}

export class ResponseFormatDto {
  @IsIn(['text', 'json_object', 'json_schema'])
  type!: 'text' | 'json_object' | 'json_schema';

  /** Required for type "json_schema". */
  @ValidateIf((format: ResponseFormatDto) => format.type === 'json_schema')
  @ValidateNested()
  @Type(() => JsonSchemaFormatDto)
  json_schema?: JsonSchemaFormatDto;

  /**
   * The original MLX Omni Server's documented form, `{"type": "json_object", "schema": {...}}`:
   * a schema given with json_object is enforced exactly like json_schema's.
   */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'With type json_object: a JSON schema the object must match (enforced like json_schema)' })
  @IsOptional()
  @IsPlainObject()
  schema?: Record<string, unknown>;
}

export class StreamOptionsDto {
  /** Send a last chunk with the usage and no choices. */
  @IsOptional()
  @IsBoolean()
  include_usage?: boolean;
}

/** Fields shared by chat and legacy completions: sampling, stopping, and the local-server extensions. */
export class SamplingParametersDto {
  @ApiPropertyOptional({ default: 1 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number;

  @ApiPropertyOptional({ default: 1 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  top_p?: number;

  @ApiPropertyOptional({ type: 'integer', default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(16)
  n?: number;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @IsOptional()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto;

  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }] })
  @IsOptional()
  @IsStopSequences(4)
  stop?: string | string[];

  /** The most tokens to generate; chat completions default to the server's MLX_OMNI_DEFAULT_MAX_TOKENS, legacy completions to 16. */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(1)
  max_tokens?: number;

  @ApiPropertyOptional({ default: 0 })
  @IsOptional()
  @IsNumber()
  @Min(-2)
  @Max(2)
  presence_penalty?: number;

  @ApiPropertyOptional({ default: 0 })
  @IsOptional()
  @IsNumber()
  @Min(-2)
  @Max(2)
  frequency_penalty?: number;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'number' }, description: 'Token id → bias (-100..100)' })
  @IsOptional()
  @IsLogitBias()
  logit_bias?: Record<string, number>;

  /** Makes sampling reproducible. */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  seed?: number;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  user?: string;

  /** Extension: sample from the k most likely tokens (0 = off). */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(0)
  top_k?: number;

  /** Extension: drop tokens below min_p × the top probability. */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  min_p?: number;

  /** Extension: mlx-lm style repetition penalty (1 = off). */
  @IsOptional()
  @IsNumber()
  @Min(0.01)
  @Max(10)
  repetition_penalty?: number;
}

export class ChatCompletionRequestDto extends SamplingParametersDto {
  @ApiProperty({ example: 'mlx-community/Qwen3-4B-4bit' })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @IsArray()
  @IsObjectArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(4096)
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  messages!: ChatMessageDto[];

  /** Preferred over max_tokens. */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(1)
  max_completion_tokens?: number;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  logprobs?: boolean;

  /** Alternatives to report per token; needs logprobs. */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(20)
  top_logprobs?: number;

  @IsOptional()
  @IsArray()
  @IsObjectArray()
  @ArrayMaxSize(128)
  @ValidateNested({ each: true })
  @Type(() => ToolDto)
  tools?: ToolDto[];

  @ApiPropertyOptional({
    oneOf: [
      { type: 'string', enum: ['none', 'auto', 'required'] },
      { type: 'object', properties: { type: { type: 'string', enum: ['function'] }, function: { type: 'object', properties: { name: { type: 'string' } } } } },
    ],
  })
  @IsOptional()
  @IsToolChoice()
  tool_choice?: ToolChoice;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  parallel_tool_calls?: boolean;

  /** json_object and json_schema are enforced while decoding: the output always parses (and matches the schema). */
  @IsOptional()
  @ValidateNested()
  @Type(() => ResponseFormatDto)
  response_format?: ResponseFormatDto;

  /** Extension: variables for the chat template, e.g. {"enable_thinking": false}. */
  @IsOptional()
  @IsPlainObject()
  chat_template_kwargs?: Record<string, unknown>;

  @ApiPropertyOptional({
    enum: ['minimal', 'low', 'medium', 'high'],
    description: 'For reasoning models whose chat template reads it (gpt-oss): how much to think. Passed to the template as reasoning_effort.',
  })
  @IsOptional()
  @IsIn(['minimal', 'low', 'medium', 'high'])
  reasoning_effort?: 'minimal' | 'low' | 'medium' | 'high';
}
