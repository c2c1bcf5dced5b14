/** What a failure carries besides its status and message. */
export interface ApiErrorOptions {
  /** Machine-readable reason (`model_not_found`, `workers_busy`); OpenAI's envelope shows it as `code`. */
  code?: string | null;
  /** The request field at fault, if any. */
  param?: string | null;
  headers?: Record<string, string>;
  /** Extra fields shown beside the error (readiness names its failing checks). */
  details?: object;
  /**
   * Numbers a surface may phrase in its own words and never shows as such (a prompt's length and the
   * context it exceeds: Anthropic's clients match "prompt is too long: N tokens > M maximum").
   */
  facts?: Record<string, number>;
}

/**
 * The one error services throw. It names no API: each surface (OpenAI under /v1, Anthropic under
 * /anthropic) renders it in its own envelope and status vocabulary when the response is written.
 */
export class ApiError extends Error {
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  readonly details: object | undefined;
  readonly facts: Record<string, number>;

  constructor(
    readonly status: number,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
    this.details = options.details;
    this.facts = options.facts ?? {};
  }
}
