import { logitsMaskFromBitset } from './constrained-decoding';

describe('logitsMaskFromBitset', () => {
  it('opens exactly the ids whose bits are set, including bit 31 and the last partial word', () => {
    const size = 70;
    const bits = new Uint32Array(3);
    for (const id of [0, 5, 31, 32, 63, 69]) {
      bits[id >>> 5] |= 1 << (id & 31);
    }
    const mask = logitsMaskFromBitset(bits, size).tolist() as number[];
    expect(mask).toHaveLength(size);
    const open = mask.flatMap((value, id) => (value === 0 ? [id] : []));
    expect(open).toEqual([0, 5, 31, 32, 63, 69]);
    expect(mask.filter((value) => value === -Infinity)).toHaveLength(size - open.length);
  });
});
