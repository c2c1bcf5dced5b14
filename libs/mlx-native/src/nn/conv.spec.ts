import { core as mx } from '@frost-beta/mlx';
import { Conv1d, ConvTranspose1d, conv1dWeightFromTorch, convTranspose1dWeightFromTorch } from './conv';

/** Deterministic values in [-0.5, 0.5). */
function values(count: number, seed: number): number[] {
  return Array.from({ length: count }, (_, i) => ((Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1 + 1) % 1 - 0.5);
}

function tensor(shape: number[], seed: number): { flat: number[]; array: mx.array } {
  const flat = values(shape.reduce((a, b) => a * b, 1), seed);
  return { flat, array: mx.array(flat, mx.float32).reshape(shape) };
}

/** PyTorch's conv1d on x [in][L] with weight [out, in/groups, k], in plain loops. */
function torchConv(x: number[][], w: number[], [outC, inPer, k]: number[], o: { stride: number; padding: number; dilation: number; groups: number }): number[][] {
  const L = x[0].length;
  const outLength = Math.floor((L + 2 * o.padding - o.dilation * (k - 1) - 1) / o.stride) + 1;
  return Array.from({ length: outC }, (_, oc) => {
    const g = Math.floor(oc / (outC / o.groups));
    return Array.from({ length: outLength }, (_, t) => {
      let sum = 0;
      for (let i = 0; i < inPer; i++) {
        for (let kk = 0; kk < k; kk++) {
          const at = t * o.stride - o.padding + kk * o.dilation;
          if (at >= 0 && at < L) {
            sum += w[(oc * inPer + i) * k + kk] * x[g * inPer + i][at];
          }
        }
      }
      return sum;
    });
  });
}

/** PyTorch's conv_transpose1d with weight [in, out/groups, k]. */
function torchConvTranspose(x: number[][], w: number[], [inC, outPer, k]: number[], o: { stride: number; padding: number; outputPadding: number; groups: number }): number[][] {
  const L = x[0].length;
  const outLength = (L - 1) * o.stride - 2 * o.padding + k + o.outputPadding;
  const y = Array.from({ length: outPer * o.groups }, () => new Array<number>(outLength).fill(0));
  for (let i = 0; i < inC; i++) {
    const g = Math.floor(i / (inC / o.groups));
    for (let oc = 0; oc < outPer; oc++) {
      for (let kk = 0; kk < k; kk++) {
        for (let j = 0; j < L; j++) {
          const t = j * o.stride - o.padding + kk;
          if (t >= 0 && t < outLength) {
            y[g * outPer + oc][t] += w[(i * outPer + oc) * k + kk] * x[i][j];
          }
        }
      }
    }
  }
  return y;
}

function maxDiff(engine: mx.array, reference: number[][]): number {
  const rows = engine.index(0).tolist() as number[][];
  expect([rows.length, rows[0].length]).toEqual([reference[0].length, reference.length]);
  let worst = 0;
  rows.forEach((row, t) => row.forEach((v, c) => (worst = Math.max(worst, Math.abs(v - reference[c][t])))));
  return worst;
}

describe('Conv1d', () => {
  it.each([
    [6, 5, 3, { stride: 1, padding: 1, dilation: 1, groups: 1 }],
    [6, 5, 3, { stride: 1, padding: 3, dilation: 3, groups: 1 }],
    [4, 4, 11, { stride: 1, padding: 25, dilation: 5, groups: 1 }],
    [6, 8, 12, { stride: 6, padding: 3, dilation: 1, groups: 1 }],
    [6, 6, 7, { stride: 1, padding: 3, dilation: 1, groups: 6 }],
    [6, 6, 7, { stride: 1, padding: 0, dilation: 1, groups: 6 }],
    [16, 16, 31, { stride: 1, padding: 15, dilation: 1, groups: 4 }],
  ])('matches PyTorch for in %i, out %i, kernel %i, %o', (inC, outC, k, options) => {
    const L = 40;
    const x = tensor([inC, L], 1);
    const w = tensor([outC, inC / options.groups, k], 2);
    const conv = new Conv1d(conv1dWeightFromTorch(w.array), undefined, options);
    const rows = Array.from({ length: inC }, (_, c) => x.flat.slice(c * L, (c + 1) * L));
    expect(maxDiff(conv.forward(x.array.T.reshape(1, L, inC)), torchConv(rows, w.flat, w.array.shape, options))).toBeLessThan(1e-5);
  });
});

describe('ConvTranspose1d', () => {
  it.each([
    [8, 4, 20, { stride: 10, padding: 5, outputPadding: 0, groups: 1 }],
    [6, 3, 12, { stride: 6, padding: 3, outputPadding: 0, groups: 1 }],
    [5, 4, 5, { stride: 2, padding: 1, outputPadding: 1, groups: 1 }],
    [6, 1, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 6 }],
    [6, 2, 4, { stride: 2, padding: 1, outputPadding: 0, groups: 2 }],
  ])('matches PyTorch for in %i, out/group %i, kernel %i, %o', (inC, outPer, k, options) => {
    const L = 9;
    const x = tensor([inC, L], 3);
    const w = tensor([inC, outPer, k], 4);
    const conv = new ConvTranspose1d(convTranspose1dWeightFromTorch(w.array, options.groups), undefined, options);
    const rows = Array.from({ length: inC }, (_, c) => x.flat.slice(c * L, (c + 1) * L));
    expect(maxDiff(conv.forward(x.array.T.reshape(1, L, inC)), torchConvTranspose(rows, w.flat, w.array.shape, options))).toBeLessThan(1e-5);
  });
});
