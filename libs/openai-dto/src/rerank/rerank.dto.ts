import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Min } from 'class-validator';

/** Documents one rerank request may carry. */
export const MAX_RERANK_DOCUMENTS = 1000;

/** Jina's and Cohere's rerank request (vLLM, llama.cpp and LocalAI serve the same shape). */
export class RerankRequestDto {
  @ApiProperty({ example: 'BAAI/bge-reranker-v2-m3' })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @ApiProperty({ example: 'What is the red planet?' })
  @IsString()
  @IsNotEmpty()
  query!: string;

  @ApiProperty({ type: [String], minItems: 1, maxItems: MAX_RERANK_DOCUMENTS, description: 'Texts to score against the query; a pair longer than the model takes answers 400' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_RERANK_DOCUMENTS)
  @IsString({ each: true })
  documents!: string[];

  @ApiPropertyOptional({ minimum: 1, description: 'Return only the best this many (default: all)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  top_n?: number;

  @ApiPropertyOptional({ default: true, description: 'Include each document’s text in its result' })
  @IsOptional()
  @IsBoolean()
  return_documents?: boolean;
}

export class RerankDocumentDto {
  @ApiProperty()
  text!: string;
}

export class RerankResultDto {
  @ApiProperty({ description: 'Position of the document in the request' })
  index!: number;

  @ApiProperty({ description: 'How relevant the document is to the query, in [0, 1]: the sigmoid of the model’s relevance logit' })
  relevance_score!: number;

  @ApiPropertyOptional({ type: RerankDocumentDto })
  document?: RerankDocumentDto;
}

export class RerankUsageDto {
  @ApiProperty({ description: 'Tokens of every (query, document) sequence the model read' })
  prompt_tokens!: number;

  @ApiProperty()
  total_tokens!: number;
}

export class RerankResponseDto {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  model!: string;

  @ApiProperty({ type: [RerankResultDto], description: 'Most relevant first' })
  results!: RerankResultDto[];

  @ApiProperty({ type: RerankUsageDto })
  usage!: RerankUsageDto;
}
