import type { StreamMethod, UnaryMethod } from './protocol';

/** A chat message as it crosses to the worker: OpenAI's shape, content already flattened to text. */
export interface ChatWireMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string | null;
  name?: string;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  /** An earlier assistant turn's reasoning, which some templates (Qwen3) put back within the current turn's tool loop. */
  reasoning_content?: string;
}

export interface ChatWireTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type ChatWireToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export type ChatWireResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict: boolean };

export interface SamplingWireOptions {
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  repetitionPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  logitBias: Record<number, number>;
  seed?: number;
}

/** What the API asks a worker to generate for one chat completion (all `n` choices). */
export interface ChatGenerationParams {
  /** The id the client used; echoed in logs and errors. */
  model: string;
  /** The API key's name ('' when keys are off): the worker shares its compute fairly between callers. */
  caller: string;
  /** The resolved model directory (a Hugging Face snapshot or a local path). */
  modelPath: string;
  messages: ChatWireMessage[];
  tools: ChatWireTool[];
  toolChoice: ChatWireToolChoice;
  parallelToolCalls: boolean;
  responseFormat: ChatWireResponseFormat;
  templateKwargs: Record<string, unknown>;
  n: number;
  maxTokens: number | undefined;
  stop: string[];
  sampling: SamplingWireOptions;
  logprobs: boolean;
  topLogprobs: number;
}

export interface WireTopLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

export interface WireTokenLogprob extends WireTopLogprob {
  top_logprobs: WireTopLogprob[];
}

/**
 * A prompt token as legacy completions echo it with logprobs: the first token has nothing before
 * it, so no logprob and no alternatives (null, as OpenAI reports it).
 */
export interface WirePromptLogprob {
  token: string;
  logprob: number | null;
  top_logprobs: WireTopLogprob[] | null;
}

export type ChatFinishReasonWire = 'stop' | 'length' | 'tool_calls';

/** One event of a generation (chat or plain text); `choice` is the index among the choices. */
export type GenerationChunk =
  /**
   * Chat only, once, just before the first generated chunk (prefill done, nothing left to refuse):
   * the prompt's size, which Anthropic's `message_start` reports before any text.
   */
  | { choice: number; type: 'prompt'; promptTokens: number; cachedTokens: number }
  | { choice: number; type: 'content'; text: string; logprobs?: WireTokenLogprob[]; promptLogprobs?: WirePromptLogprob[] }
  | { choice: number; type: 'reasoning'; text: string }
  | { choice: number; type: 'tool_call'; index: number; id: string; name: string; arguments: string }
  | { choice: number; type: 'finish'; reason: ChatFinishReasonWire };

/** Wall time a request's choices spent in prefill (up to each first token) and in decoding after it. */
export interface GenerationTimingsWire {
  promptMs: number;
  generationMs: number;
}

export interface GenerationResult {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  /** Prompt tokens served from the worker's prompt cache instead of being computed (0 without one). */
  cachedTokens: number;
  /** Per choice, the stop sequence that ended it; null when EOS, max tokens or a tool call did (Anthropic's `stop_sequence`). */
  stopSequences: Array<string | null>;
  timings: GenerationTimingsWire;
}

export type ChatGenerateMethod = StreamMethod<ChatGenerationParams, GenerationChunk, GenerationResult>;

/** The prompt a chat request would give, counted without generating (Anthropic's count_tokens). */
export type ChatCountTokensMethod = UnaryMethod<ChatGenerationParams, { promptTokens: number }>;

/** What the API asks for one legacy completion request: every prompt, `n` choices each. */
export interface TextGenerationParams {
  model: string;
  /** As for chat: the API key's name, for fair sharing. */
  caller: string;
  modelPath: string;
  /** Text, or token ids as the client sent them. */
  prompts: Array<string | number[]>;
  n: number;
  maxTokens: number;
  stop: string[];
  sampling: SamplingWireOptions;
  /** Alternatives per token to report (0: only the chosen token's logprob); undefined: no logprobs. */
  topLogprobs: number | undefined;
  /** Send the prompt's text back before the completion. */
  echo: boolean;
}

/** Choice `p * n + i` is the i-th completion of prompt p, as OpenAI numbers them. */
export type TextGenerateMethod = StreamMethod<TextGenerationParams, GenerationChunk, GenerationResult>;
