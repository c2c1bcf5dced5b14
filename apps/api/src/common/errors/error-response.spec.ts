import { BadRequestException, NotFoundException } from '@nestjs/common';
import { IpcConnectionClosedError, IpcRemoteError } from '@mlx-omni/ipc';
import { OpenAiHttpException } from './openai-http.exception';
import { toErrorResponse } from './error-response';

describe('toErrorResponse', () => {
  it('hides the details of an unexpected fault behind a 500 envelope, and flags it for logging', () => {
    const mapped = toErrorResponse(new TypeError("Cannot read properties of undefined (reading 'x')"));
    expect(mapped).toEqual({
      status: 500,
      body: { error: { message: 'Internal server error', type: 'server_error', param: null, code: 'internal_error' } },
      headers: {},
      unexpected: true,
    });
  });

  it('keeps an OpenAiHttpException as thrown, with its headers', () => {
    const mapped = toErrorResponse(new OpenAiHttpException(503, 'busy', { code: 'workers_busy', headers: { 'retry-after': '1' } }));
    expect(mapped.status).toBe(503);
    expect(mapped.body.error).toEqual({ message: 'busy', type: 'server_error', param: null, code: 'workers_busy' });
    expect(mapped.headers).toEqual({ 'retry-after': '1' });
    expect(mapped.unexpected).toBe(false);
  });

  it('maps Nest HTTP exceptions by status', () => {
    expect(toErrorResponse(new NotFoundException('Cannot GET /x')).body.error).toEqual({
      message: 'Cannot GET /x',
      type: 'invalid_request_error',
      param: null,
      code: 'not_found',
    });
    expect(toErrorResponse(new BadRequestException(['a is bad', 'b is bad'])).body.error.message).toBe('a is bad; b is bad');
  });

  it('carries a worker-reported status and code, and turns a lost worker into a retryable 503', () => {
    const remote = toErrorResponse(new IpcRemoteError({ message: 'prompt too long', code: 'context_length_exceeded', status: 400, param: 'messages' }));
    expect(remote.status).toBe(400);
    expect(remote.body.error).toEqual({ message: 'prompt too long', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' });
    const lost = toErrorResponse(new IpcConnectionClosedError('/tmp/w.sock'));
    expect(lost.status).toBe(503);
    expect(lost.body.error.code).toBe('worker_unavailable');
    expect(lost.headers['retry-after']).toBe('1');
  });
});
