import type { IpcErrorPayload } from './frames';

/** A failure the worker reported for one request; carries what the API needs to answer the client. */
export class IpcRemoteError extends Error {
  readonly code: string;
  readonly status: number;
  readonly param: string | null;
  readonly type: string | undefined;
  readonly facts: Record<string, number>;

  constructor(payload: IpcErrorPayload) {
    super(payload.message);
    this.name = 'IpcRemoteError';
    this.code = payload.code;
    this.status = payload.status;
    this.param = payload.param ?? null;
    this.type = payload.type;
    this.facts = payload.facts ?? {};
  }
}

/** The channel to a worker closed (the worker exited or crashed) before the request finished. */
export class IpcConnectionClosedError extends Error {
  constructor(readonly socketPath: string) {
    super(`The connection to the worker at ${socketPath} closed before the request finished`);
    this.name = 'IpcConnectionClosedError';
  }
}

export class IpcTimeoutError extends Error {
  constructor(method: string, timeoutMs: number) {
    super(`The worker did not answer ${method} within ${timeoutMs} ms`);
    this.name = 'IpcTimeoutError';
  }
}

/**
 * Thrown by a handler to answer with a specific status and code (e.g. 503 worker_busy);
 * anything else a handler throws reaches the client as a 500 internal_error.
 */
export class IpcHandlerError extends Error {
  constructor(readonly payload: IpcErrorPayload) {
    super(payload.message);
    this.name = 'IpcHandlerError';
  }
}
