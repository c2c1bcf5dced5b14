import { jsonDepthExceeds } from './json-depth';

const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

describe('jsonDepthExceeds', () => {
  it.each([
    ['a scalar', 7, 0, false],
    ['{} at limit 1', {}, 1, false],
    ['{"a":{}} at limit 1', { a: {} }, 1, true],
    ['a message list (5 levels) at limit 5', { messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 5, false],
    ['the same at limit 4', { messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 4, true],
  ])('%s', (_name, value, limit, expected) => {
    expect(jsonDepthExceeds(value, limit)).toBe(expected);
  });

  it('measures 100,000 levels without a stack overflow', () => {
    expect(jsonDepthExceeds(nested(100_000), 64)).toBe(true);
    expect(jsonDepthExceeds(nested(64), 64)).toBe(false);
    expect(jsonDepthExceeds(nested(65), 64)).toBe(true);
  });
});
