import { StopSequenceMatcher } from './stop-sequences';

function feed(stops: string[], pieces: string[]): { emitted: string[]; stop?: string; rest: string } {
  const matcher = new StopSequenceMatcher(stops);
  const emitted: string[] = [];
  for (const piece of pieces) {
    const scan = matcher.push(piece);
    emitted.push(scan.emit);
    if (scan.stop !== undefined) {
      return { emitted, stop: scan.stop, rest: matcher.flush() };
    }
  }
  return { emitted, rest: matcher.flush() };
}

describe('StopSequenceMatcher', () => {
  test('matches across pieces and emits nothing of the stop sequence', () => {
    expect(feed(['lo wor'], ['hel', 'lo', ' w', 'orld'])).toEqual({ emitted: ['he', 'l', '', ''], stop: 'lo wor', rest: '' });
  });

  test('releases held text as soon as it can no longer start a stop sequence', () => {
    expect(feed(['</end>'], ['a<', '/e', 'x', 'y'])).toEqual({ emitted: ['a', '', '</ex', 'y'], rest: '' });
  });

  test('text held at the end is returned by flush', () => {
    expect(feed(['worlds'], ['hello', ' world'])).toEqual({ emitted: ['hello', ' '], rest: 'world' });
  });

  test('the earliest of several stop sequences wins, whatever their order', () => {
    expect(feed(['c', 'ab'], ['xabc'])).toEqual({ emitted: ['x'], stop: 'ab', rest: '' });
  });

  test('a stop sequence inside one piece cuts the piece', () => {
    expect(feed(['\n\n'], ['one\n\ntwo'])).toEqual({ emitted: ['one'], stop: '\n\n', rest: '' });
  });

  test('empty stop strings are ignored', () => {
    expect(feed([''], ['abc'])).toEqual({ emitted: ['abc'], rest: '' });
  });

  test('holds the longest possible start when stops overlap', () => {
    expect(feed(['aab'], ['xaa', 'a', 'b'])).toEqual({ emitted: ['x', 'a', ''], stop: 'aab', rest: '' });
  });
});
