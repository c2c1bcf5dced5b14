import type { GenerationChunk } from '@mlx-omni/ipc';
import { JsonConstraint } from '@mlx-omni/structured-output';
import { ChoiceOutput, type OutputMode } from './choice-output';

const ids = (): (() => string) => {
  let n = 0;
  return () => `call_${++n}`;
};

function run(mode: OutputMode, deltas: string[], reason: 'stop' | 'length' = 'stop'): GenerationChunk[] {
  const output = new ChoiceOutput(0, mode, ids());
  return [...deltas.flatMap((delta) => output.push(delta, undefined)), ...output.end('', reason)];
}

const unusedConstraint = (): JsonConstraint => {
  throw new Error('the output side never builds the constraint');
};

describe('ChoiceOutput', () => {
  it('separates reasoning, keeps the answer’s own leading space, and ends with stop', () => {
    const chunks = run({ kind: 'text', toolCallFormat: 'hermes', prompt: '<|im_start|>assistant\n', toolNames: [], toolParameters: new Map() }, ['<thi', 'nk>\nplan</think>\n\n', ' Hi', ' there']);
    expect(chunks.filter((c) => c.type === 'reasoning').map((c) => (c as { text: string }).text).join('')).toBe('plan');
    expect(chunks.filter((c) => c.type === 'content').map((c) => (c as { text: string }).text).join('')).toBe('Hi there');
    expect(chunks.at(-1)).toEqual({ choice: 0, type: 'finish', reason: 'stop' });
    const plain = run({ kind: 'text', toolCallFormat: 'hermes', prompt: '', toolNames: [], toolParameters: new Map() }, [' leading', ' space']);
    expect(plain.filter((c) => c.type === 'content').map((c) => (c as { text: string }).text).join('')).toBe(' leading space');
  });

  it('turns Hermes tool-call markup into calls and finishes with tool_calls', () => {
    const chunks = run({ kind: 'text', toolCallFormat: 'hermes', prompt: '', toolNames: ['get_weather'], toolParameters: new Map() }, [
      'Checking. <tool_',
      'call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>',
    ]);
    expect(chunks.filter((c) => c.type === 'content').map((c) => (c as { text: string }).text).join('')).toBe('Checking.');
    expect(chunks.filter((c) => c.type === 'tool_call')).toEqual([
      { choice: 0, type: 'tool_call', index: 0, id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    ]);
    expect(chunks.at(-1)).toEqual({ choice: 0, type: 'finish', reason: 'tool_calls' });
  });

  it('reads gpt-oss harmony: analysis as reasoning, a commentary call as a tool call, and finishes with tool_calls', () => {
    const mode: OutputMode = { kind: 'text', toolCallFormat: 'harmony', prompt: '<|start|>assistant', toolNames: ['get_weather'], toolParameters: new Map() };
    const chunks = run(mode, ['<|channel|>analysis<|message|>Need', ' weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city":', '"Oslo"}']);
    expect(chunks.filter((c) => c.type === 'reasoning').map((c) => (c as { text: string }).text).join('')).toBe('Need weather.');
    expect(chunks.filter((c) => c.type === 'content').map((c) => (c as { text: string }).text).join('')).toBe('');
    expect(chunks.filter((c) => c.type === 'tool_call')).toEqual([{ choice: 0, type: 'tool_call', index: 0, id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }]);
    expect(chunks.at(-1)).toEqual({ choice: 0, type: 'finish', reason: 'tool_calls' });
    // The prompt alone tells harmony apart, whatever the declared format.
    const final = run({ ...mode, toolCallFormat: undefined, toolNames: [] }, ['<|channel|>final<|message|>Hi.']);
    expect(final.filter((c) => c.type === 'content').map((c) => (c as { text: string }).text).join('')).toBe('Hi.');
  });

  it('reads a forced call written in a markup format with that format\'s parser', () => {
    const parse = (text: string) => (text.includes('<function=f>') ? [{ name: 'f', arguments: '{"x":1}' }] : []);
    const forced: OutputMode = { kind: 'forced-tool-call', constraint: unusedConstraint, parse };
    expect(run(forced, ['<tool_call>\n<function=f>\n', '<parameter=x>\n1\n</parameter>\n</function>\n</tool_call>'])).toEqual([
      { choice: 0, type: 'tool_call', index: 0, id: 'call_1', name: 'f', arguments: '{"x":1}' },
      { choice: 0, type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('reads a forced call’s JSON, and hands back a cut-off one as content with length', () => {
    const forced: OutputMode = { kind: 'forced-tool-call', constraint: unusedConstraint };
    expect(run(forced, ['{"name":"f",', '"arguments":{"x":1}}'])).toEqual([
      { choice: 0, type: 'tool_call', index: 0, id: 'call_1', name: 'f', arguments: '{"x":1}' },
      { choice: 0, type: 'finish', reason: 'tool_calls' },
    ]);
    expect(run(forced, ['{"name":"f","argu'], 'length')).toEqual([
      { choice: 0, type: 'content', text: '{"name":"f","argu' },
      { choice: 0, type: 'finish', reason: 'length' },
    ]);
  });
});
