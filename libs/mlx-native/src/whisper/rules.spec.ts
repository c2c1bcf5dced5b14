import { timestampRuleRanges } from './decoding';
import { dynamicTimeWarping, mergePunctuations, type WordTiming } from './timing';
import { whisperSpecialTokens } from './tokenizer';

const { eot, timestampBegin: tb } = whisperSpecialTokens(51865);
const VOCAB = 51865;
const ts = (seconds: number) => tb + Math.round(seconds / 0.02);
const rules = (sampled: number[], maxInitial: number | undefined = 50) => timestampRuleRanges(sampled, eot, tb, VOCAB, maxInitial);

describe('whisperSpecialTokens', () => {
  it.each([
    [51864, { multilingual: false, numLanguages: 99, eot: 50256, sot: 50257, translate: 50357, transcribe: 50358, sotPrev: 50360, noSpeech: 50361, noTimestamps: 50362, timestampBegin: 50363 }],
    [51865, { multilingual: true, numLanguages: 99, eot: 50257, sot: 50258, translate: 50358, transcribe: 50359, sotPrev: 50361, noSpeech: 50362, noTimestamps: 50363, timestampBegin: 50364 }],
    [51866, { multilingual: true, numLanguages: 100, eot: 50257, sot: 50258, translate: 50359, transcribe: 50360, sotPrev: 50362, noSpeech: 50363, noTimestamps: 50364, timestampBegin: 50365 }],
  ])('places the special tokens of a %i-token vocabulary as openai/whisper does', (vocab, expected) => {
    expect(whisperSpecialTokens(vocab)).toMatchObject(expected);
  });

  it('refuses a vocabulary no Whisper has', () => {
    expect(() => whisperSpecialTokens(32000)).toThrow(/not a Whisper vocabulary/);
  });
});

describe('timestampRuleRanges (openai/whisper ApplyTimestampRules)', () => {
  it('starts with a timestamp no later than max_initial_timestamp', () => {
    expect(rules([])).toEqual([[0, tb], [tb + 51, VOCAB]]);
    expect(timestampRuleRanges([], eot, tb, VOCAB, undefined)).toEqual([[0, tb]]);
  });

  it('after an opening timestamp wants text, and never an earlier or equal timestamp', () => {
    // penultimate counts as a timestamp when there is none: an opening timestamp must be followed by text.
    expect(rules([ts(0.4)])).toEqual([[tb, VOCAB], [tb, ts(0.4) + 1]]);
  });

  it('after text allows only later timestamps, so a segment never has zero length', () => {
    expect(rules([ts(0.4), 100, 200])).toEqual([[tb, ts(0.4) + 1]]);
  });

  it('after a closing timestamp allows end-of-text or a timestamp, the next one opening at or after it', () => {
    expect(rules([ts(0.4), 100, ts(1.2)])).toEqual([[0, eot], [tb, ts(1.2)]]);
  });

  it('after a pair of timestamps wants text, and later timestamps only (values, not positions)', () => {
    expect(rules([ts(0.4), 100, ts(1.2), ts(1.2)])).toEqual([[tb, VOCAB], [tb, ts(1.2) + 1]]);
    // mlx_whisper collected positions here (3 instead of the value), letting timestamps go backwards.
    expect(rules([ts(5), 100, ts(9), ts(9), 200])).toEqual([[tb, ts(9) + 1]]);
  });
});

describe('dynamicTimeWarping', () => {
  it('finds the cheapest monotonic path', () => {
    const cost = [Float64Array.from([0, 5, 5]), Float64Array.from([5, 0, 1]), Float64Array.from([5, 5, 0])];
    expect(dynamicTimeWarping(cost)).toEqual({ rows: [0, 1, 2], cols: [0, 1, 2] });
  });

  it('on a tie between the diagonal and the step down takes the step right, as openai/whisper does', () => {
    const cost = [Float64Array.from([0, 5, 5]), Float64Array.from([5, 0, 0]), Float64Array.from([5, 5, 0])];
    expect(dynamicTimeWarping(cost)).toEqual({ rows: [0, 1, 2, 2], cols: [0, 1, 1, 2] });
  });
});

describe('mergePunctuations', () => {
  it('moves opening quotes onto the next word and closing punctuation onto the previous one', () => {
    const words = (list: string[]): WordTiming[] => list.map((word, i) => ({ word, tokens: [i], start: i, end: i + 1, probability: 1 }));
    const alignment = words([' "', 'Hello', ',', ' world', '.']);
    mergePunctuations(alignment);
    expect(alignment.map((timing) => timing.word)).toEqual(['', ' "Hello,', '', ' world.', '']);
    expect(alignment[1].tokens).toEqual([0, 1, 2]);
  });
});
