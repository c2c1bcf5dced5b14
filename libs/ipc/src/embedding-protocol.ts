import type { UnaryMethod } from './protocol';

/** What the API asks a worker to embed for one /v1/embeddings request. */
export interface EmbeddingParams {
  /** The id the client used; echoed in errors. */
  model: string;
  /** The API key's name ('' when keys are off): the worker shares its compute fairly between callers. */
  caller: string;
  modelPath: string;
  /** Texts, or token ids used exactly as given. */
  inputs: Array<string | number[]>;
  /** A Matryoshka prefix of this many dimensions; undefined: the model's full vector. */
  dimensions?: number;
}

export interface EmbeddingResult {
  /** One vector per input, in order: float32 little-endian, base64 (exact, and a third of JSON's size). */
  embeddings: string[];
  /** Tokens of every input, special tokens included. */
  promptTokens: number;
}

export type EmbeddingsCreateMethod = UnaryMethod<EmbeddingParams, EmbeddingResult>;

/** What the API asks a worker to score for one /v1/rerank request. */
export interface RerankParams {
  model: string;
  caller: string;
  modelPath: string;
  query: string;
  documents: string[];
}

export interface RerankResult {
  /** Relevance of each document to the query, in the documents' order, in [0, 1]. */
  scores: number[];
  /** Tokens of every (query, document) sequence the model read. */
  promptTokens: number;
}

export type RerankMethod = UnaryMethod<RerankParams, RerankResult>;
