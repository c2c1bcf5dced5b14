import { plainToInstance } from 'class-transformer';
import { ChatCompletionRequestDto } from '@mlx-omni/openai-dto';
import { ApiError } from '../../common/errors/api-error';
import { toGenerationParams } from './generation-params';

const request = (fields: Record<string, unknown>): ChatCompletionRequestDto =>
  plainToInstance(ChatCompletionRequestDto, { model: 'org/model', messages: [{ role: 'user', content: 'hi' }], ...fields });

const weatherTool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } };

function paramOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return (error as ApiError).param;
  }
  throw new Error('expected a 400');
}

describe('toGenerationParams', () => {
  it('applies OpenAI’s defaults', () => {
    const params = toGenerationParams(request({}), '/models/x', 'alice', 4096);
    expect(params).toMatchObject({
      modelPath: '/models/x',
      caller: 'alice',
      n: 1,
      stop: [],
      toolChoice: 'none',
      responseFormat: { type: 'text' },
      logprobs: false,
      sampling: { temperature: 1, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: {} },
    });
    expect(params.sampling.seed).toBeUndefined();
  });

  it('caps a request that names no limit at the configured default, and honours one that does', () => {
    expect(toGenerationParams(request({}), '/m', 'alice', 4096).maxTokens).toBe(4096);
    expect(toGenerationParams(request({ max_tokens: 20_000 }), '/m', 'alice', 4096).maxTokens).toBe(20_000);
  });

  it('flattens text parts, prefers max_completion_tokens, and turns logit_bias keys into ids', () => {
    const params = toGenerationParams(
      request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }], max_tokens: 5, max_completion_tokens: 9, logit_bias: { '42': -100 }, stop: 'END' }),
      '/m',
      'alice',
      4096,
    );
    expect(params.messages[0].content).toBe('a\nb');
    expect(params.maxTokens).toBe(9);
    expect(params.sampling.logitBias).toEqual({ 42: -100 });
    expect(params.stop).toEqual(['END']);
  });

  it('defaults tool_choice to auto when tools are given', () => {
    expect(toGenerationParams(request({ tools: [weatherTool] }), '/m', 'alice', 4096).toolChoice).toBe('auto');
  });

  it.each([
    [{ tool_choice: 'required' }, 'tool_choice'],
    [{ tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice'],
    [{ top_logprobs: 3 }, 'top_logprobs'],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'response_format.json_schema.schema'],
  ])('rejects %p naming %s', (fields, param) => {
    expect(paramOf(() => toGenerationParams(request(fields), '/m', 'alice', 4096))).toBe(param);
  });
});
