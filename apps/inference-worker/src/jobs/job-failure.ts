import { IpcHandlerError } from '@mlx-omni/ipc';
import { permanentJobError } from '@mlx-omni/jobs';

/**
 * What a job handler throws for an error: a client error the worker found (the pool's 400
 * model_not_supported, a capability's bad-input 400) fails the job for good with its status and code,
 * so the waiting request is answered as if the API had found it; anything else propagates and is
 * retried (a crash, a pool that is full for now).
 */
export function asJobFailure(error: unknown): unknown {
  if (error instanceof IpcHandlerError && error.payload.status >= 400 && error.payload.status < 500) {
    const { status, code, message, param } = error.payload;
    return permanentJobError({ status, code, message, param: param ?? null });
  }
  return error;
}
