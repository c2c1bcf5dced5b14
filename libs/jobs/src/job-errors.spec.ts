import { UnrecoverableError } from 'bullmq';
import { permanentJobError, readJobError } from './job-errors';

describe('job errors', () => {
  it('round-trips status, code, message and param through the failed reason BullMQ keeps', () => {
    const error = permanentJobError({ status: 400, code: 'model_not_supported', message: 'The model x is of kind chat', param: 'model' });
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(readJobError(error.message)).toEqual({ status: 400, code: 'model_not_supported', message: 'The model x is of kind chat', param: 'model' });
  });

  it('reads any other reason as a 500 job_failed carrying it', () => {
    expect(readJobError('worker crashed')).toEqual({ status: 500, code: 'job_failed', message: 'worker crashed', param: null });
    expect(readJobError('job-error {not json')).toMatchObject({ status: 500, message: 'job-error {not json' });
    expect(readJobError(undefined)).toMatchObject({ status: 500, code: 'job_failed' });
  });
});
