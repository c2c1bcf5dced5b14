import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ToolCallDto } from './chat-completion-request.dto';

export type ChatFinishReason = 'stop' | 'length' | 'tool_calls';

export class TopLogprobDto {
  @ApiProperty()
  token!: string;

  @ApiProperty()
  logprob!: number;

  @ApiProperty({ type: [Number], nullable: true, description: 'UTF-8 bytes of the token' })
  bytes!: number[] | null;
}

export class TokenLogprobDto extends TopLogprobDto {
  @ApiProperty({ type: [TopLogprobDto] })
  top_logprobs!: TopLogprobDto[];
}

export class ChoiceLogprobsDto {
  @ApiProperty({ type: [TokenLogprobDto], nullable: true })
  content!: TokenLogprobDto[] | null;

  @ApiProperty({ type: [TokenLogprobDto], nullable: true })
  refusal!: TokenLogprobDto[] | null;
}

export class ChatCompletionMessageDto {
  @ApiProperty({ enum: ['assistant'] })
  role!: 'assistant';

  @ApiProperty({ type: String, nullable: true })
  content!: string | null;

  @ApiProperty({ type: String, nullable: true })
  refusal!: null;

  @ApiPropertyOptional({ type: [ToolCallDto] })
  tool_calls?: ToolCallDto[];

  @ApiPropertyOptional({ description: 'Extension: the model’s reasoning (text inside <think>…</think>)' })
  reasoning_content?: string;

  @ApiPropertyOptional({ description: 'Extension: the same text under the name vLLM, Ollama and mlx-lm clients read' })
  reasoning?: string;
}

export class ChatCompletionChoiceDto {
  @ApiProperty()
  index!: number;

  @ApiProperty({ type: ChatCompletionMessageDto })
  message!: ChatCompletionMessageDto;

  @ApiProperty({ enum: ['stop', 'length', 'tool_calls'] })
  finish_reason!: ChatFinishReason;

  @ApiProperty({ type: ChoiceLogprobsDto, nullable: true })
  logprobs!: ChoiceLogprobsDto | null;
}

export class CompletionTokensDetailsDto {
  @ApiProperty()
  reasoning_tokens!: number;
}

export class PromptTokensDetailsDto {
  @ApiProperty({ description: 'Prompt tokens the prompt cache served instead of computing them' })
  cached_tokens!: number;
}

export class UsageDto {
  @ApiProperty()
  prompt_tokens!: number;

  @ApiProperty()
  completion_tokens!: number;

  @ApiProperty()
  total_tokens!: number;

  @ApiPropertyOptional({ type: PromptTokensDetailsDto })
  prompt_tokens_details?: PromptTokensDetailsDto;

  @ApiPropertyOptional({ type: CompletionTokensDetailsDto })
  completion_tokens_details?: CompletionTokensDetailsDto;
}

/** The fields every completion object and stream chunk carries, chat or legacy. */
export abstract class CompletionObjectBaseDto {
  @ApiProperty({ example: 'chatcmpl-5f0c6a3e1f4b4c1e9d2a6f1b' })
  id!: string;

  @ApiProperty({ description: 'Unix seconds' })
  created!: number;

  @ApiProperty()
  model!: string;

  @ApiProperty()
  system_fingerprint!: string;
}

export class ChatCompletionResponseDto extends CompletionObjectBaseDto {
  @ApiProperty({ enum: ['chat.completion'] })
  object!: 'chat.completion';

  @ApiProperty({ type: [ChatCompletionChoiceDto] })
  choices!: ChatCompletionChoiceDto[];

  @ApiProperty({ type: UsageDto })
  usage!: UsageDto;
}

export class ToolCallDeltaFunctionDto {
  @ApiPropertyOptional()
  name?: string;

  @ApiPropertyOptional()
  arguments?: string;
}

export class ToolCallDeltaDto {
  @ApiProperty()
  index!: number;

  @ApiPropertyOptional()
  id?: string;

  @ApiPropertyOptional({ enum: ['function'] })
  type?: 'function';

  @ApiPropertyOptional({ type: ToolCallDeltaFunctionDto })
  function?: ToolCallDeltaFunctionDto;
}

export class ChatCompletionDeltaDto {
  @ApiPropertyOptional({ enum: ['assistant'] })
  role?: 'assistant';

  @ApiPropertyOptional({ type: String, nullable: true })
  content?: string | null;

  @ApiPropertyOptional({ type: [ToolCallDeltaDto] })
  tool_calls?: ToolCallDeltaDto[];

  @ApiPropertyOptional()
  reasoning_content?: string;

  @ApiPropertyOptional()
  reasoning?: string;
}

export class ChatCompletionChunkChoiceDto {
  @ApiProperty()
  index!: number;

  @ApiProperty({ type: ChatCompletionDeltaDto })
  delta!: ChatCompletionDeltaDto;

  @ApiProperty({ enum: ['stop', 'length', 'tool_calls'], nullable: true })
  finish_reason!: ChatFinishReason | null;

  @ApiPropertyOptional({ type: ChoiceLogprobsDto, nullable: true })
  logprobs?: ChoiceLogprobsDto | null;
}

/** One server-sent event of a streamed chat completion (`data: {...}`), ended by `data: [DONE]`. */
export class ChatCompletionChunkDto extends CompletionObjectBaseDto {
  @ApiProperty({ enum: ['chat.completion.chunk'] })
  object!: 'chat.completion.chunk';

  @ApiProperty({ type: [ChatCompletionChunkChoiceDto] })
  choices!: ChatCompletionChunkChoiceDto[];

  @ApiPropertyOptional({ type: UsageDto, nullable: true })
  usage?: UsageDto | null;
}
