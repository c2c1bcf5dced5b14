import { readFileSync } from 'node:fs';

/** A tensor in float64, as the tests' references compute. */
export interface ReferenceTensor {
  shape: number[];
  data: Float64Array;
}

/** IEEE half precision to a number. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) {
    return sign * 2 ** -14 * (fraction / 1024);
  }
  if (exponent === 31) {
    return fraction ? NaN : sign * Infinity;
  }
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * The tensors of a safetensors file in float64 (F32, F16, BF16; I64 as their values), read with
 * plain byte arithmetic so that the float64 references written in the tests share no code with the
 * engine's loader. Added to `into` when given, for a model in several files.
 */
export function readReferenceSafetensors(path: string, into = new Map<string, ReferenceTensor>()): Map<string, ReferenceTensor> {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const widened = Buffer.alloc(4);
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      continue;
    }
    const start = 8 + headerLength + info.data_offsets[0];
    const count = info.shape.reduce((n, d) => n * d, 1);
    const data = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      switch (info.dtype) {
        case 'F32':
          data[i] = bytes.readFloatLE(start + 4 * i);
          break;
        case 'F16':
          data[i] = halfToFloat(bytes.readUInt16LE(start + 2 * i));
          break;
        case 'BF16':
          // bfloat16 is the top half of a float32.
          widened.writeUInt16LE(bytes.readUInt16LE(start + 2 * i), 2);
          data[i] = widened.readFloatLE(0);
          break;
        case 'I64':
          data[i] = Number(bytes.readBigInt64LE(start + 8 * i));
          break;
        default:
          throw new Error(`reference reader: dtype ${info.dtype}`);
      }
    }
    into.set(name, { shape: info.shape, data });
  }
  return into;
}
