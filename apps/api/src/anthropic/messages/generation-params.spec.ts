import { plainToInstance } from 'class-transformer';
import { ApiError } from '../../common/errors/api-error';
import { AnthropicMessagesRequestDto } from '../dto/messages-request.dto';
import { MEDIA_IN_TOOL_RESULT, toGenerationParams } from './generation-params';

const request = (fields: Record<string, unknown>): AnthropicMessagesRequestDto =>
  plainToInstance(AnthropicMessagesRequestDto, { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...fields });
const tool = { name: 'get_weather', input_schema: { type: 'object' } };
const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA==' } };

function refusal(fields: Record<string, unknown>): ApiError {
  try {
    toGenerationParams(request(fields), '/m', 'alice');
  } catch (error) {
    return error as ApiError;
  }
  throw new Error('expected a 400');
}

describe('toGenerationParams (Anthropic)', () => {
  it('maps system blocks, tool use and results, thinking and sampling to the worker’s chat parameters', () => {
    const params = toGenerationParams(
      request({
        system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Be kind.', cache_control: { type: 'ephemeral' } }],
        messages: [
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'Need a tool.', signature: 'sig' },
              { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
            ],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'Sunny' }, image] }, { type: 'text', text: 'And?' }] },
        ],
        tools: [tool],
        tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
        thinking: { type: 'enabled', budget_tokens: 1024 },
        stop_sequences: ['END'],
        top_k: 5,
      }),
      '/models/q',
      'alice',
    );
    expect(params.messages).toEqual([
      { role: 'system', content: 'Be brief.\nBe kind.' },
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }], reasoning_content: 'Need a tool.' },
      { role: 'tool', tool_call_id: 'toolu_1', content: `Sunny\n${MEDIA_IN_TOOL_RESULT('image')}` },
      { role: 'user', content: 'And?' },
    ]);
    expect(params).toMatchObject({
      modelPath: '/models/q',
      caller: 'alice',
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      toolChoice: { type: 'function', function: { name: 'get_weather' } },
      parallelToolCalls: false,
      templateKwargs: { enable_thinking: true },
      maxTokens: 16,
      stop: ['END'],
      n: 1,
      sampling: { temperature: 1, topP: 1, topK: 5 },
    });
  });

  it.each([
    [{}, 'none', false],
    [{ tools: [tool] }, 'auto', false],
    [{ tools: [tool], tool_choice: { type: 'any' } }, 'required', false],
    [{ tools: [tool], tool_choice: { type: 'none' } }, 'none', false],
    [{ thinking: { type: 'disabled' } }, 'none', false],
    [{ thinking: { type: 'adaptive' } }, 'none', true],
  ])('%j → tool choice %s, thinking %s', (fields, toolChoice, thinking) => {
    const params = toGenerationParams(request(fields), '/m', 'alice');
    expect(params.toolChoice).toBe(toolChoice);
    expect(params.templateKwargs).toEqual({ enable_thinking: thinking });
  });

  it('takes null optional fields as absent', () => {
    const params = toGenerationParams(request({ system: null, thinking: null, tools: null, tool_choice: null, stop_sequences: null, temperature: null, top_p: null, top_k: null }), '/m', 'alice');
    expect(params).toMatchObject({ toolChoice: 'none', stop: [], templateKwargs: { enable_thinking: false }, sampling: { temperature: 1, topP: 1, topK: 0 } });
    expect(params.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('treats top_p 0 as greedy', () => {
    expect(toGenerationParams(request({ top_p: 0, temperature: 0.7 }), '/m', 'alice').sampling).toMatchObject({ temperature: 0, topP: 1 });
    expect(toGenerationParams(request({ top_p: 0.5 }), '/m', 'alice').sampling).toMatchObject({ temperature: 1, topP: 0.5 });
  });

  it.each([
    [{ messages: [{ role: 'user', content: [image] }] }, 'messages[0].content[0]', /image blocks need a model that reads them/],
    [{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }, 'messages[1]', /prefill/],
    [{ tool_choice: { type: 'any' } }, 'tool_choice', /needs a non-empty tools list/],
    [{ tools: [tool], tool_choice: { type: 'tool', name: 'other' } }, 'tool_choice.name', /not in tools/],
    [{ messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'x', name: 'y', input: {} }] }] }, 'messages[0].content[0]', /a user message cannot hold a tool_use block/],
  ])('refuses %j naming %s', (fields, param, message) => {
    const error = refusal(fields);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(400);
    expect(error.param).toBe(param);
    expect(error.message).toMatch(message);
  });
});
