import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CompletionObjectBaseDto, UsageDto } from '../chat/chat-completion-response.dto';

export class CompletionLogprobsDto {
  @ApiProperty({ type: [String] })
  tokens!: string[];

  /** With echo, the first prompt token has no logprob: null, as OpenAI's API sends it. */
  @ApiProperty({ type: 'array', items: { type: 'number', nullable: true } })
  token_logprobs!: Array<number | null>;

  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: { type: 'number' }, nullable: true } })
  top_logprobs!: Array<Record<string, number> | null>;

  @ApiProperty({ type: [Number], description: 'Character offset of each token in the returned text' })
  text_offset!: number[];
}

export class CompletionChoiceDto {
  @ApiProperty()
  text!: string;

  @ApiProperty()
  index!: number;

  @ApiProperty({ type: CompletionLogprobsDto, nullable: true })
  logprobs!: CompletionLogprobsDto | null;

  @ApiProperty({ enum: ['stop', 'length'], nullable: true, description: 'null on stream chunks before the last' })
  finish_reason!: 'stop' | 'length' | null;
}

/** Both the whole answer and each stream chunk (OpenAI uses one shape for the legacy endpoint). */
export class CompletionResponseDto extends CompletionObjectBaseDto {
  @ApiProperty({ enum: ['text_completion'] })
  object!: 'text_completion';

  @ApiProperty({ type: [CompletionChoiceDto] })
  choices!: CompletionChoiceDto[];

  @ApiPropertyOptional({ type: UsageDto, nullable: true })
  usage?: UsageDto | null;
}
