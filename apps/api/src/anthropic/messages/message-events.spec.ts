import type { GenerationChunk, GenerationResult } from '@mlx-omni/ipc';
import { AnthropicEventMapper, foldEvents, thinkingSignature, type AnthropicStreamEvent } from './message-events';

const identity = { id: 'msg_test', model: 'claude-sonnet-4-5' };
const result = (fields: Partial<GenerationResult> = {}): GenerationResult => ({
  promptTokens: 20,
  completionTokens: 7,
  reasoningTokens: 2,
  cachedTokens: 5,
  stopSequences: [null],
  timings: { promptMs: 1, generationMs: 2 },
  ...fields,
});

function run(chunks: GenerationChunk[], thinking: boolean, final = result()): AnthropicStreamEvent[] {
  const mapper = new AnthropicEventMapper(identity, thinking);
  return [...chunks.flatMap((chunk) => mapper.map(chunk)), ...mapper.end(final)];
}

const prompt: GenerationChunk = { choice: 0, type: 'prompt', promptTokens: 20, cachedTokens: 5 };

describe('AnthropicEventMapper', () => {
  it('opens with message_start (the prompt’s size, cache reads apart), thinking first with its signature, then text and tool calls', () => {
    const events = run(
      [
        prompt,
        { choice: 0, type: 'reasoning', text: 'Let me ' },
        { choice: 0, type: 'reasoning', text: 'think.' },
        { choice: 0, type: 'content', text: 'Hello' },
        { choice: 0, type: 'content', text: '' },
        { choice: 0, type: 'tool_call', index: 0, id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
        { choice: 0, type: 'finish', reason: 'tool_calls' },
      ],
      true,
    );
    expect(events.map((event) => (event.type === 'content_block_delta' ? `${event.index}:${event.delta.type}` : event.type === 'content_block_start' || event.type === 'content_block_stop' ? `${event.type}:${event.index}` : event.type))).toEqual([
      'message_start',
      'ping',
      'content_block_start:0',
      '0:thinking_delta',
      '0:thinking_delta',
      '0:signature_delta',
      'content_block_stop:0',
      'content_block_start:1',
      '1:text_delta',
      'content_block_stop:1',
      'content_block_start:2',
      '2:input_json_delta',
      'content_block_stop:2',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0]).toMatchObject({ message: { id: 'msg_test', model: 'claude-sonnet-4-5', content: [], stop_reason: null, usage: { input_tokens: 15, cache_read_input_tokens: 5, output_tokens: 0 } } });
    const message = foldEvents(events);
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Let me think.', signature: thinkingSignature('Let me think.') },
      { type: 'text', text: 'Hello' },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_[a-zA-Z0-9]{24}$/), name: 'get_weather', input: { city: 'Oslo' } },
    ]);
    expect(message).toMatchObject({ stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: 15, output_tokens: 7, cache_read_input_tokens: 5, cache_creation_input_tokens: 0 } });
  });

  it('drops reasoning when thinking was not requested', () => {
    const message = foldEvents(run([prompt, { choice: 0, type: 'reasoning', text: 'hidden' }, { choice: 0, type: 'content', text: 'shown' }, { choice: 0, type: 'finish', reason: 'stop' }], false));
    expect(message.content).toEqual([{ type: 'text', text: 'shown' }]);
    expect(message.stop_reason).toBe('end_turn');
  });

  it.each([
    ['length', null, 'max_tokens', null],
    ['stop', 'END', 'stop_sequence', 'END'],
    ['stop', null, 'end_turn', null],
  ] as const)('finish %s with stop sequence %p is %s', (reason, stop, stopReason, stopSequence) => {
    const message = foldEvents(run([prompt, { choice: 0, type: 'content', text: 'x' }, { choice: 0, type: 'finish', reason }], false, result({ stopSequences: [stop] })));
    expect(message).toMatchObject({ stop_reason: stopReason, stop_sequence: stopSequence });
  });
});
