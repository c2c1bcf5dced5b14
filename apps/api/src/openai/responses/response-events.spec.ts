import type { GenerationChunk, GenerationResult } from '@mlx-omni/ipc';
import { CreateResponseRequestDto } from '@mlx-omni/openai-dto';
import { expectOpenAiEvent, expectOpenAiSchema } from '@mlx-omni/openai-dto/testing';
import { plainToInstance } from 'class-transformer';
import { describeError } from '../../common/errors/describe-error';
import { toChatMessages, toStoredItems } from './conversation';
import { newResponse, ResponseEventMapper, type ResponsesStreamEvent } from './response-events';

const request = plainToInstance(CreateResponseRequestDto, { model: 'org/model', input: 'hi', tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } }] });
const result: GenerationResult = { promptTokens: 30, completionTokens: 9, reasoningTokens: 3, cachedTokens: 4, stopSequences: [null], timings: { promptMs: 1, generationMs: 2 } };

function run(chunks: GenerationChunk[], wraps = false): { mapper: ResponseEventMapper; events: ResponsesStreamEvent[] } {
  const mapper = new ResponseEventMapper(newResponse(request, 'resp_test', null), wraps);
  const events = [...mapper.start(), ...chunks.flatMap((chunk) => mapper.map(chunk)), ...mapper.end(result)];
  return { mapper, events };
}

const turn: GenerationChunk[] = [
  { choice: 0, type: 'prompt', promptTokens: 30, cachedTokens: 4 },
  { choice: 0, type: 'reasoning', text: 'Need ' },
  { choice: 0, type: 'reasoning', text: 'weather.' },
  { choice: 0, type: 'content', text: 'Checking.' },
  { choice: 0, type: 'tool_call', index: 0, id: 'call_abc', name: 'get_weather', arguments: '{"city":"Oslo"}' },
  { choice: 0, type: 'finish', reason: 'tool_calls' },
];

describe('ResponseEventMapper', () => {
  it('emits the Responses event sequence, every event valid against OpenAI’s schema, reasoning before the message and the call', () => {
    const { mapper, events } = run(turn);
    events.forEach((event, index) => {
      expectOpenAiEvent('ResponseStreamEvent', event);
      expect(event.sequence_number).toBe(index);
    });
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.reasoning_text.delta',
      'response.reasoning_text.delta',
      'response.reasoning_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const response = mapper.response;
    expectOpenAiSchema('Response', response);
    expect(response.output.map((item) => item.type)).toEqual(['reasoning', 'message', 'function_call']);
    expect(response.output[0]).toMatchObject({ id: expect.stringMatching(/^rs_/), content: [{ type: 'reasoning_text', text: 'Need weather.' }], status: 'completed' });
    expect(response.output[2]).toMatchObject({ id: expect.stringMatching(/^fc_/), call_id: 'call_abc', arguments: '{"city":"Oslo"}' });
    expect(response).toMatchObject({
      status: 'completed',
      usage: { input_tokens: 30, input_tokens_details: { cached_tokens: 4 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 3 }, total_tokens: 39 },
    });
    // The created event showed the response as it was then, not as it ended.
    expect((events[0].response as { output: unknown[] }).output).toEqual([]);
  });

  it('marks a response cut by max_output_tokens incomplete, and wraps reasoning for stateless clients', () => {
    const { mapper, events } = run([{ choice: 0, type: 'reasoning', text: 'Hmm' }, { choice: 0, type: 'finish', reason: 'length' }], true);
    expect(events.at(-1)!.type).toBe('response.incomplete');
    expect(mapper.response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, completed_at: null, output: [{ status: 'incomplete' }] });
    const reasoning = mapper.response.output[0];
    expect(reasoning.type === 'reasoning' && reasoning.encrypted_content).toEqual(expect.any(String));
    // Sent back without its text (as Codex does), the wrapped reasoning restores it.
    const [restored] = toStoredItems([{ type: 'reasoning', id: reasoning.id, summary: [], encrypted_content: reasoning.type === 'reasoning' ? reasoning.encrypted_content : null }]);
    expect(restored).toMatchObject({ type: 'reasoning', content: [{ type: 'reasoning_text', text: 'Hmm' }] });
  });

  it('turns a failure into response.failed carrying the reason', () => {
    const mapper = new ResponseEventMapper(newResponse(request, 'resp_test', null), false);
    const event = mapper.failed(describeError(new Error('boom')));
    expectOpenAiEvent('ResponseStreamEvent', event);
    expect(event).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { code: 'server_error', message: 'Internal server error' } } });
  });
});

describe('toChatMessages', () => {
  it('gathers a turn’s reasoning, message and calls into one assistant message, as the output items replay', () => {
    const { mapper } = run(turn);
    const conversation = [...toStoredItems('Weather?'), ...mapper.response.output, ...toStoredItems([{ type: 'function_call_output', call_id: 'call_abc', output: 'sunny' }])];
    expect(toChatMessages(conversation)).toEqual([
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: 'Checking.',
        reasoning_content: 'Need weather.',
        tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_abc', content: 'sunny' },
    ]);
  });

  it('starts a new assistant turn when reasoning follows an answer', () => {
    const items = toStoredItems([
      { role: 'assistant', content: 'One.' },
      { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Think again.' }] },
      { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' },
    ]);
    expect(toChatMessages(items)).toEqual([
      { role: 'assistant', content: 'One.' },
      { role: 'assistant', content: null, reasoning_content: 'Think again.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
    ]);
  });
});
