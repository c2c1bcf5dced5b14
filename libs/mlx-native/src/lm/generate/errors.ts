/** A prompt plus the requested completion does not fit the model's context window. */
export class ContextLengthExceededError extends Error {
  override readonly name = 'ContextLengthExceededError';

  constructor(
    readonly promptTokens: number,
    readonly maxTokens: number,
    readonly contextLength: number,
  ) {
    super(
      `This model's maximum context length is ${contextLength} tokens, but ${promptTokens + maxTokens} were requested ` +
        `(${promptTokens} in the prompt, ${maxTokens} for the completion).`,
    );
  }
}

/** A generation option outside its domain (the message names the option); a fault of the request. */
export class InvalidGenerationOptionsError extends Error {
  override readonly name = 'InvalidGenerationOptionsError';
}

/** Throws {@link InvalidGenerationOptionsError} with `message` unless `condition` holds. */
export function requireOption(condition: boolean, message: string): void {
  if (!condition) {
    throw new InvalidGenerationOptionsError(message);
  }
}
