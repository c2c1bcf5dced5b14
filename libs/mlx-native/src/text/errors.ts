/** A model directory whose tokenizer files are missing, unreadable or use a format we cannot decode. */
export class TokenizerLoadError extends Error {
  override readonly name = 'TokenizerLoadError';
}

/**
 * The chat could not be rendered: the model has no chat template, the messages use content the
 * template cannot represent, or the template itself rejected them (`raise_exception`). These are
 * faults of the request, not of the server.
 */
export class ChatTemplateError extends Error {
  override readonly name = 'ChatTemplateError';
}
