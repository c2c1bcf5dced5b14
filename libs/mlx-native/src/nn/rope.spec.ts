import { core as mx } from '@frost-beta/mlx';
import { createRope, llama3Frequencies, ropeFromFrequencies } from './rope';

const DIMS = 16;
const x = mx.random.normal([1, 2, 5, DIMS], mx.float32, 0, 1, mx.random.key(7));
const maxAbsDiff = (a: mx.array, b: mx.array) => mx.abs(mx.subtract(a, b)).max().item() as number;

describe('createRope', () => {
  it('llama3 scaling with factor 1 equals the fused kernel (same rotate-half layout and frequencies)', () => {
    const table = createRope({
      dims: DIMS,
      base: 10000,
      traditional: false,
      maxPositionEmbeddings: 8192,
      scaling: { type: 'llama3', factor: 1, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
    });
    const fused = createRope({ dims: DIMS, base: 10000, traditional: false, maxPositionEmbeddings: 8192 });
    expect(maxAbsDiff(table.apply(x, 3), fused.apply(x, 3))).toBeLessThan(1e-4);
  });

  it('linear scaling divides positions by the factor', () => {
    const scaled = createRope({ dims: DIMS, base: 10000, traditional: false, maxPositionEmbeddings: 64, scaling: { type: 'linear', factor: 4 } });
    const plain = createRope({ dims: DIMS, base: 10000, traditional: false, maxPositionEmbeddings: 64 });
    // Position 8 under factor 4 is position 2 unscaled; one token at a time to compare single positions.
    const token = x.index(mx.Slice(), mx.Slice(), mx.Slice(0, 1), mx.Slice());
    expect(maxAbsDiff(scaled.apply(token, 8), plain.apply(token, 2))).toBeLessThan(1e-5);
  });

  it('dynamic NTK keeps the base inside the trained context and raises it beyond', () => {
    const dynamic = createRope({ dims: DIMS, base: 10000, traditional: false, maxPositionEmbeddings: 8, scaling: { type: 'dynamic', factor: 2 } });
    const plain = createRope({ dims: DIMS, base: 10000, traditional: false, maxPositionEmbeddings: 8 });
    expect(maxAbsDiff(dynamic.apply(x, 3), plain.apply(x, 3))).toBe(0);
    // Sequence end 15 > 8: base' = base · (2·15/8 − 1)^(16/14), Hugging Face's formula.
    const grown = 10000 * (2 * (15 / 8) - 1) ** (DIMS / (DIMS - 2));
    const expected = createRope({ dims: DIMS, base: grown, traditional: false, maxPositionEmbeddings: 1e9 });
    expect(maxAbsDiff(dynamic.apply(x, 10), expected.apply(x, 10))).toBeLessThan(1e-5);
    expect(maxAbsDiff(dynamic.apply(x, 10), plain.apply(x, 10))).toBeGreaterThan(1e-3);
  });
});

describe('ropeFromFrequencies', () => {
  const baseFrequencies = Float32Array.from({ length: DIMS / 2 }, (_, i) => 10000 ** ((-2 * i) / DIMS));

  it.each([true, false])('with the base-10000 table equals the fused kernel (traditional %s)', (traditional) => {
    const fused = createRope({ dims: DIMS, base: 10000, traditional, maxPositionEmbeddings: 64 });
    expect(maxAbsDiff(ropeFromFrequencies(baseFrequencies, traditional).apply(x, 3), fused.apply(x, 3))).toBeLessThan(1e-4);
  });

  it('rotates only the leading dimensions its table covers', () => {
    const rotated = ropeFromFrequencies(baseFrequencies.subarray(0, 4), true).apply(x, 2);
    const rest = (a: mx.array) => a.index('...', mx.Slice(8, DIMS));
    expect(maxAbsDiff(rest(rotated), rest(x))).toBe(0);
    expect(maxAbsDiff(rotated, x)).toBeGreaterThan(1e-3);
  });
});

describe('llama3Frequencies', () => {
  it("keeps high frequencies, divides low ones by the factor and blends in between (Llama 3.1's published values)", () => {
    const scaling = { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
    const freqs = llama3Frequencies(128, 500000, scaling);
    const plain = (i: number) => 1 / 500000 ** ((2 * i) / 128);
    expect(freqs[0]).toBeCloseTo(1, 6);
    expect(freqs[63]).toBeCloseTo(plain(63) / 8, 12);
    // Wavelength between 2048 and 8192 positions: a blend strictly between freq/8 and freq.
    const mid = Array.from(freqs).findIndex((f, i) => 2 * Math.PI / plain(i) > 2048 && 2 * Math.PI / plain(i) < 8192);
    expect(freqs[mid]).toBeGreaterThan(plain(mid) / 8);
    expect(freqs[mid]).toBeLessThan(plain(mid));
  });
});
