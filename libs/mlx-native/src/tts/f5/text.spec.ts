import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { swayedTimes } from './sampler';
import { chunkText, F5Vocabulary, referencePrefix, spokenLength } from './text';

describe('chunkText', () => {
  it('splits after sentence and clause punctuation and at line breaks, joining pieces while they fit', () => {
    expect(chunkText('One. Two, three!\nFour? Five', 12)).toEqual(['One. Two,', 'three! Four?', 'Five']);
    expect(chunkText('One. Two. Three.', 100)).toEqual(['One. Two. Three.']);
    expect(chunkText('  \n ', 100)).toEqual([]);
  });

  it('cuts a piece over the budget between words, and a word over it between characters', () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const chunks = chunkText(words, 30);
    expect(chunks.every((chunk) => Buffer.byteLength(chunk) <= 30)).toBe(true);
    expect(chunks.join(' ')).toBe(words);
    expect(chunkText('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });

  it('counts the budget in UTF-8 bytes and splits after Chinese punctuation', () => {
    expect(chunkText('你好。世界！', 9)).toEqual(['你好。', '世界！']);
  });
});

describe('the duration heuristic and the reference prefix', () => {
  it("counts bytes and three more per Chinese pause, and ends the transcript with '. '", () => {
    expect(spokenLength('abc')).toBe(3);
    expect(spokenLength('你，好。')).toBe(12 + 6);
    expect(referencePrefix(' Some call me nature ')).toBe('Some call me nature. ');
    expect(referencePrefix('Done.')).toBe('Done. ');
    expect(referencePrefix('你好。')).toBe('你好。');
  });
});

describe('F5Vocabulary', () => {
  it('maps characters to their line, unknown ones to line 0, after normalising quotes and semicolons', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'f5-vocab-'));
    try {
      await writeFile(join(dir, 'vocab.txt'), ' \n!\n"\n\'\n,\na\nb\n');
      const vocabulary = await F5Vocabulary.load(join(dir, 'vocab.txt'));
      expect(vocabulary.size).toBe(7);
      expect(vocabulary.encode('ab; “a” ‘b’ z')).toEqual([5, 6, 4, 0, 2, 5, 2, 0, 3, 6, 3, 0, 0]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('swayedTimes', () => {
  it('starts at 0, ends at 1 and crowds the early steps for a negative coefficient (f5-tts-mlx: 8 points, −1)', () => {
    const times = swayedTimes(8, -1);
    expect(times[0]).toBe(0);
    expect(times[7]).toBeCloseTo(1, 12);
    // t + s·(cos(πt/2) − 1 + t) at t = 1/7 with s = −1 is 1 − cos(π/14).
    expect(times[1]).toBeCloseTo(1 - Math.cos(Math.PI / 14), 12);
    const steps = times.slice(1).map((t, i) => t - times[i]);
    expect(steps.every((step, i) => i === 0 || step > steps[i - 1])).toBe(true);
  });
});
