/** A token id with its log-probability (see generateTokens for which distribution). */
export interface TokenLogprob {
  readonly tokenId: number;
  readonly logprob: number;
}

/** One generated token; `logprob` and `topLogprobs` are there when asked for. */
export interface GeneratedToken {
  readonly type: 'token';
  readonly tokenId: number;
  readonly logprob?: number;
  /** Most likely first. */
  readonly topLogprobs?: readonly TokenLogprob[];
}

/** `stop`: EOS or a stop sequence; `length`: max tokens or the context window; `abort`: the caller's signal. */
export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenerationTimings {
  /** Prefill and the first sampled token: the time to first token. */
  readonly promptMs: number;
  /** From the first token to the end. */
  readonly generationMs: number;
  readonly promptTokensPerSecond: number;
  /** Tokens after the first, per second of `generationMs`: the decode speed. */
  readonly generationTokensPerSecond: number;
}

/** The last event of every generation. */
export interface GenerationFinished {
  readonly type: 'done';
  readonly finishReason: FinishReason;
  /** The stop sequence that ended generation, when one did. */
  readonly stopSequence?: string;
  readonly promptTokens: number;
  /** Tokens reported as `token` events (a final EOS is not one). */
  readonly completionTokens: number;
  /** Prompt tokens whose keys and values were reused from the prompt cache instead of computed. */
  readonly cachedTokens?: number;
  readonly timings: GenerationTimings;
}

export type TokenGenerationEvent = GeneratedToken | GenerationFinished;
