import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ReasoningEffort, ResponseFunctionToolDto, ResponseTextConfigDto, ResponseToolChoice } from './response-request.dto';

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export interface OutputTextPart {
  type: 'output_text';
  text: string;
  annotations: never[];
  logprobs: never[];
}

export interface ReasoningTextPart {
  type: 'reasoning_text';
  text: string;
}

export interface InputTextPart {
  type: 'input_text';
  text: string;
}

export interface MessageOutputItem {
  type: 'message';
  id: string;
  role: 'assistant';
  status: ItemStatus;
  content: OutputTextPart[];
}

export interface ReasoningOutputItem {
  type: 'reasoning';
  id: string;
  summary: never[];
  content: ReasoningTextPart[];
  /** With include ["reasoning.encrypted_content"], for clients that keep no state (store: false) to send back. */
  encrypted_content?: string;
  status: ItemStatus;
}

export interface FunctionCallOutputItem {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: ItemStatus;
}

/** What a response produces, in order: reasoning first (for reasoning models), then the message and the calls. */
export type ResponseOutputItem = MessageOutputItem | ReasoningOutputItem | FunctionCallOutputItem;

/** A stored input item as GET /v1/responses/{id}/input_items lists it: every item has an id. */
export type StoredInputItem =
  | { type: 'message'; id: string; role: 'user' | 'system' | 'developer'; status: 'completed'; content: InputTextPart[] }
  | MessageOutputItem
  | ReasoningOutputItem
  | FunctionCallOutputItem
  | { type: 'function_call_output'; id: string; call_id: string; output: string; status: 'completed' };

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = 'completed' | 'failed' | 'in_progress' | 'incomplete';

/** OpenAI's Response object, as this server fills it. */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  completed_at: number | null;
  status: ResponseStatus;
  error: { code: 'server_error' | 'rate_limit_exceeded'; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  model: string;
  output: ResponseOutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: ReasoningEffort | null; summary: null } | null;
  store: boolean;
  temperature: number;
  top_p: number;
  text: ResponseTextConfigDto;
  tool_choice: ResponseToolChoice;
  tools: Array<ResponseFunctionToolDto & { parameters: Record<string, unknown> | null; strict: boolean | null; description: string | null }>;
  truncation: 'disabled';
  background: false;
  /** Left out until the response is done (OpenAI's schema has no null here). */
  usage?: ResponseUsage;
  metadata: Record<string, string>;
}

export class ResponseObjectDto {
  @ApiProperty({ example: 'resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b' })
  id!: string;

  @ApiProperty({ enum: ['response'] })
  object!: 'response';

  @ApiProperty({ description: 'Unix seconds' })
  created_at!: number;

  @ApiProperty({ enum: ['completed', 'failed', 'in_progress', 'incomplete'] })
  status!: ResponseStatus;

  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true }, description: 'reasoning, message and function_call items' })
  output!: ResponseOutputItem[];

  @ApiProperty()
  model!: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Once the response is done' })
  usage?: ResponseUsage;
}

export class ResponseItemListDto {
  @ApiProperty({ enum: ['list'] })
  object!: 'list';

  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } })
  data!: StoredInputItem[];

  @ApiProperty({ type: String, nullable: true })
  first_id!: string | null;

  @ApiProperty({ type: String, nullable: true })
  last_id!: string | null;

  @ApiProperty()
  has_more!: boolean;
}

export class ResponseDeletedDto {
  @ApiProperty()
  id!: string;

  @ApiProperty({ enum: ['response'] })
  object!: 'response';

  @ApiProperty({ enum: [true] })
  deleted!: true;
}
