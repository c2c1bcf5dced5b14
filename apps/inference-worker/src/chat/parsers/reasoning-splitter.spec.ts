import { promptOpensReasoning, ReasoningSplitter, ReasoningSplitterOptions, splitReasoning } from './reasoning-splitter';

/** Every way of cutting `text` in two, plus one character at a time, must split the same as the whole. */
function expectCutsAgree(text: string, options?: ReasoningSplitterOptions): void {
  const whole = splitReasoning(text, options);
  const cuts = [[...text], ...Array.from({ length: text.length - 1 }, (_, i) => [text.slice(0, i + 1), text.slice(i + 1)])];
  for (const chunks of cuts) {
    const splitter = new ReasoningSplitter(options);
    const pieces = [...chunks.map((c) => splitter.push(c)), splitter.end()];
    expect({
      reasoning: pieces.map((p) => p.reasoning).join(''),
      content: pieces.map((p) => p.content).join(''),
    }).toEqual(whole);
    for (const piece of pieces) {
      expect(piece.content + piece.reasoning).not.toMatch(/<\/?think>/);
    }
  }
}

describe('ReasoningSplitter', () => {
  it('routes a leading <think> block to reasoning and the rest to content', () => {
    const text = '<think>\nThe user wants 2+2.\n</think>\n\nIt is 4.';
    expect(splitReasoning(text)).toEqual({ reasoning: 'The user wants 2+2.\n', content: 'It is 4.' });
    expectCutsAgree(text);
  });

  it('starts inside reasoning when the prompt already opened the block', () => {
    const text = 'Plan the answer.</think>Answer.';
    expect(splitReasoning(text, { startsInReasoning: true })).toEqual({ reasoning: 'Plan the answer.', content: 'Answer.' });
    expectCutsAgree(text, { startsInReasoning: true });
  });

  it('leaves text without tags as content, including things that only look like a tag', () => {
    const text = 'a <thinker> and a <thin line';
    expect(splitReasoning(text)).toEqual({ reasoning: '', content: text });
    expectCutsAgree(text);
  });

  it('keeps an unclosed block (cut by max_tokens) as reasoning', () => {
    expect(splitReasoning('<think>still going')).toEqual({ reasoning: 'still going', content: '' });
  });

  it('holds a partial tag across deltas and sends nothing of it', () => {
    const splitter = new ReasoningSplitter();
    expect(splitter.push('Hi <th')).toEqual({ reasoning: '', content: 'Hi ' });
    expect(splitter.push('ink>idea</thi')).toEqual({ reasoning: 'idea', content: '' });
    expect(splitter.push('nk>done')).toEqual({ reasoning: '', content: 'done' });
  });

  it('supports other tag names', () => {
    const options = { openTag: '<reasoning>', closeTag: '</reasoning>' };
    expect(splitReasoning('<reasoning>r</reasoning>c', options)).toEqual({ reasoning: 'r', content: 'c' });
  });

  it('detects prompts that end inside an open block', () => {
    expect(promptOpensReasoning('<|im_start|>assistant\n<think>\n')).toBe(true);
    expect(promptOpensReasoning('<|im_start|>assistant\n<think>\n\n</think>\n\n')).toBe(false);
  });
});
