import type { GenerationChunk, GenerationResult } from '@mlx-omni/ipc';
import { expectOpenAiSchema, itMatchesOpenAiContract } from '@mlx-omni/openai-dto/testing';
import { ChatCompletionAssembler, ChatCompletionChunker } from './completion-assembler';

const identity = { id: 'chatcmpl-test', created: 1_700_000_000, model: 'org/model' };
const result: GenerationResult = {
  promptTokens: 12,
  completionTokens: 7,
  reasoningTokens: 3,
  cachedTokens: 5,
  stopSequences: [null, null],
  timings: { promptMs: 10, generationMs: 20 },
};
const logprob = { token: 'Hi', logprob: -0.5, bytes: [72, 105], top_logprobs: [{ token: 'Hi', logprob: -0.5, bytes: [72, 105] }] };

const chunks: GenerationChunk[] = [
  { choice: 0, type: 'reasoning', text: 'think' },
  { choice: 0, type: 'content', text: 'Hi', logprobs: [logprob] },
  { choice: 0, type: 'content', text: ' there', logprobs: [{ ...logprob, token: ' there', bytes: [32] }] },
  { choice: 0, type: 'finish', reason: 'stop' },
  { choice: 1, type: 'tool_call', index: 0, id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
  { choice: 1, type: 'finish', reason: 'tool_calls' },
];

const assemble = () => {
  const assembler = new ChatCompletionAssembler(2, true);
  chunks.forEach((chunk) => assembler.add(chunk));
  return assembler.build(identity, result);
};

const stream = (includeUsage: boolean) => {
  const chunker = new ChatCompletionChunker(identity, includeUsage);
  return { streamed: chunks.flatMap((chunk) => chunker.map(chunk)), usage: chunker.usageChunk(result) };
};

describe('ChatCompletionAssembler', () => {
  it('builds a chat.completion with reasoning, tool calls and logprobs', () => {
    const completion = assemble();
    expect(completion.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hi there', reasoning_content: 'think', reasoning: 'think' });
    expect(completion.choices[0].logprobs?.content?.map((entry) => entry.token)).toEqual(['Hi', ' there']);
    expect(completion.choices[1]).toMatchObject({
      finish_reason: 'tool_calls',
      message: { content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
    });
    expect(completion.usage).toEqual({
      prompt_tokens: 12,
      completion_tokens: 7,
      total_tokens: 19,
      prompt_tokens_details: { cached_tokens: 5 },
      completion_tokens_details: { reasoning_tokens: 3 },
    });
  });

  itMatchesOpenAiContract('builds a chat.completion that matches OpenAI’s CreateChatCompletionResponse', () => {
    expectOpenAiSchema('CreateChatCompletionResponse', assemble());
  });
});

describe('ChatCompletionChunker', () => {
  it('emits a role chunk first, deltas after, and a usage chunk with no choices', () => {
    const { streamed, usage } = stream(true);
    expect(streamed[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(streamed.every((chunk) => chunk.usage === null)).toBe(true);
    expect(usage.choices).toEqual([]);
    expect(usage.usage?.total_tokens).toBe(19);

    const toolDeltas = streamed.filter((chunk) => chunk.choices[0].delta.tool_calls !== undefined).map((chunk) => chunk.choices[0].delta.tool_calls![0]);
    expect(toolDeltas).toEqual([
      { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 0, function: { arguments: '{"city":"Oslo"}' } },
    ]);
    const finishes = streamed.filter((chunk) => chunk.choices[0].finish_reason !== null).map((chunk) => chunk.choices[0].finish_reason);
    expect(finishes).toEqual(['stop', 'tool_calls']);
  });

  itMatchesOpenAiContract('emits chunks that each match OpenAI’s CreateChatCompletionStreamResponse', () => {
    const { streamed, usage } = stream(true);
    for (const chunk of [...streamed, usage]) {
      expectOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
    }
  });

  it('leaves usage out of every chunk when include_usage is off', () => {
    const chunker = new ChatCompletionChunker(identity, false);
    expect(chunks.flatMap((chunk) => chunker.map(chunk)).every((chunk) => !('usage' in chunk))).toBe(true);
  });
});

describe('the OpenAI schema check itself', () => {
  itMatchesOpenAiContract('rejects a chunk OpenAI clients would not accept', () => {
    const chunk = new ChatCompletionChunker(identity, false).map({ choice: 0, type: 'finish', reason: 'stop' })[1];
    expect(() => expectOpenAiSchema('CreateChatCompletionStreamResponse', { ...chunk, choices: [{ ...chunk.choices[0], finish_reason: 'done' }] })).toThrow(/finish_reason/);
    expect(() => expectOpenAiSchema('CreateChatCompletionStreamResponse', { ...chunk, object: 'chat.completion' })).toThrow(/object/);
  });
});
