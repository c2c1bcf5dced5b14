import { MAX_BATCH_TOKENS, planBatches } from './batching';

describe('planBatches', () => {
  it('takes every input exactly once, longest first, each batch within the padded-token budget', () => {
    const lengths = Array.from({ length: 2048 }, (_, i) => 1 + ((i * 37) % 500));
    const batches = planBatches(lengths);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    for (const batch of batches) {
      const longest = Math.max(...batch.map((i) => lengths[i]));
      expect(batch.length * longest).toBeLessThanOrEqual(MAX_BATCH_TOKENS);
      expect(lengths[batch[0]]).toBe(longest);
    }
  });

  it('runs an input longer than the budget alone, and short inputs many at a time', () => {
    expect(planBatches([MAX_BATCH_TOKENS * 2, 3])).toEqual([[0], [1]]);
    expect(planBatches(Array(64).fill(32))).toHaveLength(1);
  });
});
