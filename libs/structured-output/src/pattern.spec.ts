import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { compilePattern, FORMAT_PATTERNS, PatternSyntaxError, stepPattern, type CharPattern } from './pattern';

function matches(pattern: CharPattern, text: string): boolean {
  let states: readonly number[] = pattern.start;
  for (const ch of text) {
    states = stepPattern(pattern, states, ch.codePointAt(0)!);
    if (states.length === 0) {
      return false;
    }
  }
  return states.includes(pattern.accept);
}

describe('compilePattern', () => {
  // Each pattern against strings that ECMAScript's own RegExp decides: the automaton must agree on every one.
  const cases: Array<[string, string[]]> = [
    ['^\\d{3}-\\d{4}$', ['555-1234', '555-12345', '55-1234', 'abc-defg', '', '555-1234\n']],
    ['ab+c', ['abc', 'xxabbbcyy', 'ac', 'ab', 'zabcz']],
    ['^[A-Z][a-z]*(?: [A-Z][a-z]*)*$', ['Ada Lovelace', 'ada', 'Ada  Love', 'A', 'Ada Lovelace ']],
    ['^(?:red|green|blue)$|^#[0-9a-fA-F]{6}$', ['red', 'green', '#00ffAA', '#00ffA', 'redd', 'blue ']],
    ['^a{2,3}$', ['a', 'aa', 'aaa', 'aaaa']],
    ['^[^\\s@]+@[^\\s@]+$', ['a@b', 'a b@c', '@b', 'a@']],
    ['^\\w+\\.?\\W?$', ['x_1', 'x_1.', 'x_1.!', 'x_1..']],
    ['^(?<year>\\d{4})-\\d\\d$', ['2024-01', '24-01']],
    ['^[\\u00e0-\\u00ff]+\\x41$', ['éèA', 'eA', 'éA']],
    ['^.$', ['a', 'é', '\n', '😀']],
    ['^[-a-c]+$', ['a-b', 'd', '--']],
    ['colou?r', ['color', 'colour', 'colr', 'my colours']],
  ];
  it.each(cases)('agrees with RegExp on %s', (source, texts) => {
    const pattern = compilePattern(source);
    const reference = new RegExp(source, 'u');
    for (const text of texts) {
      expect([text, matches(pattern, text)]).toEqual([text, reference.test(text)]);
    }
  });

  it.each([
    ['(a)\\1', 'backreferences'],
    ['(?=a)', 'lookaround'],
    ['(?!a)', 'lookaround'],
    ['\\bword', 'word boundaries'],
    ['a^b', 'ends of the pattern'],
    ['(ab', 'missing ")"'],
    ['ab)', 'unbalanced'],
    ['[abc', 'unterminated'],
    ['*a', 'nothing to repeat'],
    ['a{5,2}', 'out of order'],
    ['a{2000}', 'above 1000'],
    ['[^\\s\\S]', 'no string matches'],
  ])('refuses %s (%s) with its position', (source, reason) => {
    expect(() => compilePattern(source)).toThrow(PatternSyntaxError);
    expect(() => compilePattern(source)).toThrow(reason);
  });

  it('knows the shortest match', () => {
    const pattern = compilePattern('^\\d{4}-\\d{2}$');
    expect(pattern.minToAccept[pattern.start[0]]).toBe(7);
  });

  describe('format patterns accept only what ajv-formats accepts', () => {
    const ajv = addFormats(new Ajv({ strict: false }), ['date-time', 'date', 'time', 'uuid', 'email', 'ipv4']);
    const samples: Record<string, string[]> = {
      'date-time': ['2024-02-28T13:45:00Z', '2024-12-31T23:59:59.123+05:30', '2024-02-30T00:00:00Z', '2024-01-01 00:00:00Z', '2024-01-01T24:00:00Z'],
      date: ['2024-01-31', '2023-04-30', '2023-04-31', '2023-13-01', '2023-1-01'],
      time: ['00:00:00Z', '23:59:59-08:00', '12:00:00.5Z', '24:00:00Z', '12:60:00Z'],
      uuid: ['123e4567-e89b-12d3-a456-426614174000', '123e4567e89b12d3a456426614174000', '123e4567-e89b-12d3-a456-42661417400g'],
      email: ['ann@example.com', 'a.b+c@sub.example.org', 'ann@localhost', '@example.com', 'ann@@example.com', 'a..b@example.com'],
      ipv4: ['192.168.0.1', '255.255.255.255', '256.1.1.1', '1.2.3', '01.2.3.4'],
    };
    it.each(Object.keys(FORMAT_PATTERNS))('%s', (format) => {
      const pattern = compilePattern(FORMAT_PATTERNS[format]);
      const validate = ajv.compile({ type: 'string', format });
      let accepted = 0;
      for (const text of samples[format]) {
        if (matches(pattern, text)) {
          accepted++;
          expect([text, validate(text)]).toEqual([text, true]);
        }
      }
      expect(accepted).toBeGreaterThan(0);
    });
  });
});
