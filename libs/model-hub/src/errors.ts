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

  /** `message` replaces the default, which tells how to pull the model (right for a request that wants to use it). */
  constructor(modelId: string, message?: string) {
    super(modelId, message ?? ModelNotFoundError.describe(modelId));
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

/** A loaded model keeps its files open and mapped; deleting them under it is refused. */
export class ModelInUseError extends ModelHubError {
  readonly code = 'model_in_use';

  constructor(modelId: string) {
    super(modelId, `Model "${modelId}" is loaded on a worker; unload it first (POST /v1/models/${modelId}/unload).`);
  }
}

/**
 * The Hub answered a request of a download with an error status. 401, 403 and 404 are
 * `permanent`: trying again cannot help until the user fixes the id, the revision or HF_TOKEN.
 */
export class HubRequestError extends ModelHubError {
  readonly code: string;
  readonly permanent: boolean;

  constructor(
    modelId: string,
    revision: string,
    readonly url: string,
    readonly status: number,
    sentToken: boolean,
  ) {
    super(modelId, HubRequestError.describe(modelId, revision, url, status, sentToken));
    this.permanent = status === 401 || status === 403 || status === 404;
    this.code = status === 404 ? 'model_not_on_hub' : status === 401 || status === 403 ? 'hub_access_denied' : 'hub_unavailable';
  }

  private static describe(modelId: string, revision: string, url: string, status: number, sentToken: boolean): string {
    if (status === 401 || status === 403) {
      const fix = sentToken ? 'HF_TOKEN has no access to it; accept its terms on the Hub or use another token' : 'it does not exist, or it is gated or private and needs HF_TOKEN';
      return `The Hub refused ${modelId} (HTTP ${status}): ${fix}.`;
    }
    if (status === 404) {
      return `The Hub has no model ${modelId} at revision "${revision}" (HTTP 404 from ${url}); check the id and revision.`;
    }
    return `The Hub answered HTTP ${status} for ${url}; the download will be retried.`;
  }
}

/** A download could not finish: a file arrived corrupt, or the Hub's answer made no sense. */
export class ModelDownloadError extends ModelHubError {
  readonly code = 'model_download_failed';
}

/**
 * The Hub could not be reached or the transfer broke: DNS, refused or cut connections, timeouts, TLS.
 * The message names the cause (undici reports all of these as "fetch failed", the cause one level down).
 * Transient: the download is retried.
 */
export class HubNetworkError extends ModelHubError {
  readonly code = 'hub_unreachable';

  constructor(modelId: string, url: string, error: unknown) {
    super(modelId, `Could not download ${modelId} from ${new URL(url).host}: ${describeNetworkFault(error)}; check the network and HF_ENDPOINT.`);
  }
}

const TLS_CODE = /^(CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH)/;

/** The innermost cause's code and message, in words: what a person would check first. */
export function describeNetworkFault(error: unknown): string {
  // Duck-typed rather than instanceof: undici's errors may come from another realm (a test runner's VM).
  let cause: unknown = error;
  while (typeof cause === 'object' && cause !== null && typeof (cause as { cause?: unknown }).cause === 'object' && (cause as { cause?: unknown }).cause !== null) {
    cause = (cause as { cause: unknown }).cause;
  }
  const { code, message, hostname } = (cause ?? {}) as NodeJS.ErrnoException & { hostname?: string };
  const detail = code === undefined ? message : `${code}: ${message}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `DNS lookup of ${hostname ?? 'the host'} failed (${code})`;
  }
  if (code !== undefined && TLS_CODE.test(code)) {
    return `the TLS handshake failed (${detail})`;
  }
  if (code === 'ECONNREFUSED') {
    return `the connection was refused (${detail})`;
  }
  if (code === 'ETIMEDOUT' || (code?.startsWith('UND_ERR_') === true && code.includes('TIMEOUT'))) {
    return `the server did not answer in time (${detail})`;
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') {
    return `the connection was cut (${detail})`;
  }
  return `the request failed (${detail ?? String(error)})`;
}
