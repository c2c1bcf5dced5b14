import { BadRequestException, NotFoundException } from '@nestjs/common';
import { IpcConnectionClosedError, IpcRemoteError } from '@mlx-omni/ipc';
import { ApiError } from './api-error';
import { describeError } from './describe-error';

describe('describeError', () => {
  it('hides the details of an unexpected fault behind a 500, and flags it for logging', () => {
    expect(describeError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toEqual({
      status: 500,
      message: 'Internal server error',
      code: 'internal_error',
      param: null,
      headers: {},
      details: undefined,
      facts: {},
      unexpected: true,
    });
  });

  it('keeps an ApiError as thrown, with its headers', () => {
    const error = describeError(new ApiError(503, 'busy', { code: 'workers_busy', headers: { 'retry-after': '1' } }));
    expect(error).toMatchObject({ status: 503, message: 'busy', code: 'workers_busy', param: null, headers: { 'retry-after': '1' }, unexpected: false });
  });

  it('maps Nest HTTP exceptions by status', () => {
    expect(describeError(new NotFoundException('Cannot GET /x'))).toMatchObject({ status: 404, message: 'Cannot GET /x', code: 'not_found' });
    expect(describeError(new BadRequestException(['a is bad', 'b is bad'])).message).toBe('a is bad; b is bad');
  });

  it('carries a worker-reported status, code and facts, and turns a lost worker into a retryable 503', () => {
    const remote = describeError(
      new IpcRemoteError({ message: 'prompt too long', code: 'context_length_exceeded', status: 400, param: 'messages', facts: { promptTokens: 9, contextLength: 8 } }),
    );
    expect(remote).toMatchObject({ status: 400, message: 'prompt too long', param: 'messages', code: 'context_length_exceeded', facts: { promptTokens: 9, contextLength: 8 } });
    const lost = describeError(new IpcConnectionClosedError('/tmp/w.sock'));
    expect(lost).toMatchObject({ status: 503, code: 'worker_unavailable', headers: { 'retry-after': '1' } });
  });
});
