import { expectOpenAiSchema } from '@mlx-omni/openai-dto/testing';
import { ApiError } from './common/errors/api-error';
import { describeError } from './common/errors/describe-error';
import { renderErrorFor } from './surface-errors';

const contextError = describeError(
  new ApiError(400, "This model's maximum context length is 8 tokens. However, your prompt resulted in 9 tokens.", {
    code: 'context_length_exceeded',
    param: 'messages',
    facts: { promptTokens: 9, contextLength: 8 },
  }),
);

describe('renderErrorFor', () => {
  it('answers OpenAI routes in OpenAI’s envelope, valid against its schema', () => {
    const rendered = renderErrorFor('/v1/chat/completions', contextError);
    expect(rendered.status).toBe(400);
    expectOpenAiSchema('ErrorResponse', rendered.body);
    expect(rendered.body).toEqual({ error: { message: contextError.message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } });
  });

  it('answers everything under /anthropic in Anthropic’s envelope, in Claude Code’s words for a long prompt', () => {
    expect(renderErrorFor('/anthropic/v1/messages?beta=true', contextError)).toEqual({
      status: 400,
      headers: {},
      body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 9 tokens > 8 maximum' } },
    });
    expect(renderErrorFor('/anthropicx/v1/messages', contextError).body).toHaveProperty('error.code');
  });

  it.each([
    [400, null, 400, 'invalid_request_error'],
    [401, 'invalid_api_key', 401, 'authentication_error'],
    [403, null, 403, 'permission_error'],
    [404, 'model_not_found', 404, 'not_found_error'],
    [413, null, 413, 'request_too_large'],
    [429, 'rate_limit_exceeded', 429, 'rate_limit_error'],
    [500, 'internal_error', 500, 'api_error'],
    [503, 'workers_busy', 529, 'overloaded_error'],
    [503, 'no_worker_available', 529, 'overloaded_error'],
    [503, 'shutting_down', 503, 'api_error'],
  ])('Anthropic: %d %s → %d %s', (status, code, expectedStatus, type) => {
    const rendered = renderErrorFor('/anthropic/v1/messages', describeError(new ApiError(status, 'x', { code, headers: { 'retry-after': '1' } })));
    expect(rendered.status).toBe(expectedStatus);
    expect(rendered.body).toEqual({ type: 'error', error: { type, message: 'x' } });
    expect(rendered.headers).toEqual({ 'retry-after': '1' });
  });
});
