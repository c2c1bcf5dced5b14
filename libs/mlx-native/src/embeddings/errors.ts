/** An input the model cannot take (too long, outside the vocabulary, empty); `param` names the request field. */
export class EmbeddingInputError extends Error {
  constructor(
    message: string,
    readonly param: string,
    readonly code: 'invalid_value' | 'context_length_exceeded' = 'invalid_value',
  ) {
    super(message);
    this.name = 'EmbeddingInputError';
  }
}
