import { UnrecoverableError } from 'bullmq';

/** Why a job failed, in the terms an API error needs: the HTTP status, OpenAI's `code`, and the field at fault. */
export interface JobErrorDetails {
  status: number;
  code: string;
  message: string;
  param: string | null;
}

// BullMQ keeps only a failed job's message (`failedReason`); the details ride in it behind a marker.
const MARKER = 'job-error ';

/**
 * A failure retrying cannot fix (a model of the wrong kind, input the model cannot take): the job fails
 * at once, and the API that waits for it answers with `status` and `code` as if it had found the
 * problem itself.
 */
export function permanentJobError(details: JobErrorDetails): UnrecoverableError {
  return new UnrecoverableError(`${MARKER}${JSON.stringify(details)}`);
}

/** The details of a failed job: those `permanentJobError` recorded, else a 500 carrying the plain reason. */
export function readJobError(failedReason: string | undefined): JobErrorDetails {
  const reason = failedReason ?? 'the job failed';
  if (reason.startsWith(MARKER)) {
    try {
      const parsed = JSON.parse(reason.slice(MARKER.length)) as Partial<JobErrorDetails>;
      if (typeof parsed.status === 'number' && typeof parsed.code === 'string' && typeof parsed.message === 'string') {
        return { status: parsed.status, code: parsed.code, message: parsed.message, param: parsed.param ?? null };
      }
    } catch {
      // Not ours after all (a reason that merely starts with the marker): reported as it is.
    }
  }
  return { status: 500, code: 'job_failed', message: reason, param: null };
}
