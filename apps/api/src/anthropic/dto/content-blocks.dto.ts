import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { plainToInstance, Transform, Type } from 'class-transformer';
import { IsArray, IsBoolean, IsIn, IsNotEmpty, IsOptional, IsString, Matches, ValidateIf, ValidateNested } from 'class-validator';
import { IsObjectArray, IsPlainObject } from '@mlx-omni/openai-dto';

/** Prompt caching hints: accepted and left to the worker's own prompt cache, which needs none. */
export class AnthropicCacheControlDto {
  @ApiProperty({ enum: ['ephemeral'] })
  @IsIn(['ephemeral'])
  type!: 'ephemeral';

  @ApiPropertyOptional({ enum: ['5m', '1h'] })
  @IsOptional()
  @IsIn(['5m', '1h'])
  ttl?: '5m' | '1h';
}

export const BLOCK_TYPES = ['text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'] as const;
export type BlockType = (typeof BLOCK_TYPES)[number];

/** What every request content block has; an unknown `type` lands here and fails on it with the list of known ones. */
export class AnthropicContentBlockDto {
  @ApiProperty({ enum: BLOCK_TYPES })
  @IsIn(BLOCK_TYPES)
  type!: BlockType;

  @ApiPropertyOptional({ type: AnthropicCacheControlDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => AnthropicCacheControlDto)
  cache_control?: AnthropicCacheControlDto;
}

export class AnthropicTextBlockDto extends AnthropicContentBlockDto {
  declare type: 'text';

  @ApiProperty()
  @IsString()
  text!: string;
}

/** Images and documents: taken apart only to say they cannot be read (every served chat model reads text). */
export class AnthropicMediaBlockDto extends AnthropicContentBlockDto {
  declare type: 'image' | 'document';

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'base64, url or file source' })
  @IsPlainObject()
  source!: Record<string, unknown>;
}

export class AnthropicToolUseBlockDto extends AnthropicContentBlockDto {
  declare type: 'tool_use';

  @ApiProperty({ example: 'toolu_01A09q90qw90lq917835lq9' })
  @IsString()
  @Matches(/^[a-zA-Z0-9_-]+$/, { message: '$property must hold only letters, digits, "_" and "-"' })
  id!: string;

  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  name!: string;

  @ApiProperty({ type: 'object', additionalProperties: true })
  @IsPlainObject()
  input!: Record<string, unknown>;
}

/** A tool result's own content: text, or images and documents (Claude Code reading a file). */
export class AnthropicToolResultContentBlockDto extends AnthropicContentBlockDto {
  @ApiProperty({ enum: ['text', 'image', 'document'] })
  @IsIn(['text', 'image', 'document'])
  declare type: 'text' | 'image' | 'document';

  @ApiPropertyOptional()
  @ValidateIf((block: AnthropicToolResultContentBlockDto) => block.type === 'text')
  @IsString()
  text?: string;
}

export class AnthropicToolResultBlockDto extends AnthropicContentBlockDto {
  declare type: 'tool_result';

  @ApiProperty()
  @IsString()
  @Matches(/^[a-zA-Z0-9_-]+$/, { message: '$property must hold only letters, digits, "_" and "-"' })
  tool_use_id!: string;

  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'array', items: { $ref: getSchemaPath(AnthropicToolResultContentBlockDto) } }] })
  @IsOptional()
  @ValidateIf((block: AnthropicToolResultBlockDto) => typeof block.content !== 'string')
  @IsArray()
  @IsObjectArray()
  @ValidateNested({ each: true })
  @Type(() => AnthropicToolResultContentBlockDto)
  content?: string | AnthropicToolResultContentBlockDto[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  is_error?: boolean;
}

export class AnthropicThinkingBlockDto extends AnthropicContentBlockDto {
  declare type: 'thinking';

  @ApiProperty()
  @IsString()
  thinking!: string;

  @ApiProperty()
  @IsString()
  signature!: string;
}

export class AnthropicRedactedThinkingBlockDto extends AnthropicContentBlockDto {
  declare type: 'redacted_thinking';

  @ApiProperty()
  @IsString()
  data!: string;
}

export type RequestContentBlock = AnthropicTextBlockDto | AnthropicMediaBlockDto | AnthropicToolUseBlockDto | AnthropicToolResultBlockDto | AnthropicThinkingBlockDto | AnthropicRedactedThinkingBlockDto;

const BLOCK_CLASSES: Record<BlockType, new () => AnthropicContentBlockDto> = {
  text: AnthropicTextBlockDto,
  image: AnthropicMediaBlockDto,
  document: AnthropicMediaBlockDto,
  tool_use: AnthropicToolUseBlockDto,
  tool_result: AnthropicToolResultBlockDto,
  thinking: AnthropicThinkingBlockDto,
  redacted_thinking: AnthropicRedactedThinkingBlockDto,
};

/**
 * Turns a list of content blocks into their classes by each block's `type` (an unknown type gets the
 * base class, which names the known ones). Not class-transformer's discriminator: it reads `type` of
 * every element unchecked and throws on a null one; here anything but an object is left as it is,
 * for IsObjectArray to refuse.
 */
export function ContentBlocksType(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) =>
    Array.isArray(value)
      ? value.map((block: unknown) => {
          if (typeof block !== 'object' || block === null || Array.isArray(block)) {
            return block;
          }
          const type = (block as { type?: unknown }).type;
          const target = typeof type === 'string' && Object.hasOwn(BLOCK_CLASSES, type) ? BLOCK_CLASSES[type as BlockType] : AnthropicContentBlockDto;
          return plainToInstance(target, block);
        })
      : value,
  );
}
