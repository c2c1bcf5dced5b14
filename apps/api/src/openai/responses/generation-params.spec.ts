import { CreateResponseRequestDto } from '@mlx-omni/openai-dto';
import { plainToInstance } from 'class-transformer';
import { ApiError } from '../../common/errors/api-error';
import { toGenerationParams } from './generation-params';

const request = (fields: Record<string, unknown>): CreateResponseRequestDto => plainToInstance(CreateResponseRequestDto, { model: 'org/model', input: 'hi', ...fields });
const tool = { type: 'function', name: 'get_weather', parameters: { type: 'object' } };
const conversation = [{ role: 'user' as const, content: 'hi' }];

describe('toGenerationParams (Responses)', () => {
  it('puts instructions first and maps tools, the text format, reasoning effort and sampling', () => {
    const schema = { type: 'object', properties: { a: { type: 'integer' } } };
    const params = toGenerationParams(
      request({
        instructions: 'Be brief.',
        tools: [tool],
        tool_choice: { type: 'function', name: 'get_weather' },
        parallel_tool_calls: false,
        text: { format: { type: 'json_schema', name: 'out', schema, strict: true } },
        reasoning: { effort: 'low' },
        max_output_tokens: 12,
        temperature: 0.5,
      }),
      conversation,
      '/models/q',
      'alice',
      4096,
    );
    expect(params).toMatchObject({
      messages: [{ role: 'system', content: 'Be brief.' }, ...conversation],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      toolChoice: { type: 'function', function: { name: 'get_weather' } },
      parallelToolCalls: false,
      responseFormat: { type: 'json_schema', name: 'out', schema, strict: true },
      templateKwargs: { reasoning_effort: 'low', enable_thinking: true },
      maxTokens: 12,
      n: 1,
      sampling: { temperature: 0.5, topP: 1 },
    });
  });

  it('leaves the template its own default without reasoning.effort, and turns thinking off for effort none', () => {
    expect(toGenerationParams(request({}), conversation, '/m', 'a', 4096).templateKwargs).toEqual({});
    expect(toGenerationParams(request({ reasoning: { effort: 'none' } }), conversation, '/m', 'a', 4096).templateKwargs).toEqual({ reasoning_effort: 'none', enable_thinking: false });
  });

  it('treats top_p 0 as greedy and defaults tool_choice to auto with tools', () => {
    const params = toGenerationParams(request({ top_p: 0, temperature: 1.2, tools: [tool] }), conversation, '/m', 'a', 4096);
    expect(params.sampling).toMatchObject({ temperature: 0, topP: 1 });
    expect(params.toolChoice).toBe('auto');
  });

  it.each([
    [{ tool_choice: 'required' }, /needs a non-empty tools list/],
    [{ tools: [tool], tool_choice: { type: 'function', name: 'other' } }, /not in tools/],
  ])('refuses %j', (fields, message) => {
    expect(() => toGenerationParams(request(fields), conversation, '/m', 'a', 4096)).toThrow(ApiError);
    expect(() => toGenerationParams(request(fields), conversation, '/m', 'a', 4096)).toThrow(message);
  });
});
