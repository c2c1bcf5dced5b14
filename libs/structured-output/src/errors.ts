/**
 * A JSON Schema construct the decoder cannot enforce. `pointer` is the JSON pointer of the
 * construct inside the schema the caller passed, so the HTTP layer can name it in a 400.
 */
export class UnsupportedSchemaError extends Error {
  constructor(
    readonly pointer: string,
    readonly reason: string,
  ) {
    super(`unsupported JSON schema construct at '${pointer || '#'}': ${reason}`);
    this.name = 'UnsupportedSchemaError';
  }
}

/** A token was fed to a constraint that its mask did not allow (a generator bug, not a user error). */
export class ConstraintViolationError extends Error {
  constructor(
    readonly tokenId: number,
    readonly tokenText: string,
  ) {
    super(`token ${tokenId} (${JSON.stringify(tokenText)}) is not allowed by the JSON constraint here`);
    this.name = 'ConstraintViolationError';
  }
}

/** `tool_choice` names a function that `tools` does not declare, or asks for a call with no tools. */
export class ToolChoiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolChoiceError';
  }
}
