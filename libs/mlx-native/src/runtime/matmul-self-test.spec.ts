import { runMatmulSelfTest } from './matmul-self-test';

describe('runMatmulSelfTest', () => {
  it('agrees with the float64 reference and reports a throughput', async () => {
    const figures = await runMatmulSelfTest(128, 7);
    // float32 accumulation over 128 products of unit normals stays well inside 1e-3.
    expect(figures.maxAbsError).toBeLessThan(1e-3);
    expect(figures.gflops).toBeGreaterThan(0);
    expect(figures.size).toBe(128);
  });
});
