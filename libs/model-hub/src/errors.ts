/** Base of the errors this lib throws, so one exception filter can map them all. */
export abstract class ModelHubError extends Error {
  /** The OpenAI-style error code the API puts in its error envelope. */
  abstract readonly code: string;

  constructor(
    readonly modelId: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The id names nothing servable: not in the cache, in no extra directory, or its download is incomplete. */
export class ModelNotFoundError extends ModelHubError {
  readonly code = 'model_not_found';

  constructor(modelId: string) {
    super(modelId, ModelNotFoundError.describe(modelId));
  }

  private static describe(modelId: string): string {
    if (modelId.startsWith('/')) {
      return `No model at "${modelId}": the directory is missing or lacks config.json, a tokenizer or complete weights.`;
    }
    const at = modelId.indexOf('@');
    const body = at < 0 ? `{"model": "${modelId}"}` : `{"model": "${modelId.slice(0, at)}", "revision": "${modelId.slice(at + 1)}"}`;
    return (
      `Model "${modelId}" is not downloaded (or its download is incomplete). ` +
      `Pull it with \`mlx-omni-server models pull ${modelId}\` or POST /v1/models/pull ${body}.`
    );
  }
}

/** The id is not a Hugging Face repo id (`name`, `org/name`, optionally `@revision`) nor an absolute path. */
export class InvalidModelIdError extends ModelHubError {
  readonly code = 'invalid_model_id';

  constructor(modelId: string, reason: string) {
    super(modelId, `Invalid model id "${modelId}": ${reason}.`);
  }
}

/** Deleting is limited to whole repos in the Hugging Face cache; anything else is the user's own data. */
export class ModelNotDeletableError extends ModelHubError {
  readonly code = 'model_not_deletable';

  constructor(modelId: string, reason: string) {
    super(modelId, `Model "${modelId}" cannot be deleted: ${reason}.`);
  }
}
