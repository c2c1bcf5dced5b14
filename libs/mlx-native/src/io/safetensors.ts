import { open } from 'node:fs/promises';
import { CorruptSafetensorsError } from './errors';
import { isJsonObject } from './model-config';

const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
};

export const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F16', 'BF16', 'F32', 'F64', 'F8_E4M3', 'F8_E5M2']);

/** Bytes per element of a safetensors dtype code. */
export function dtypeBytes(dtype: string): number {
  return DTYPE_BYTES[dtype];
}

/** Header longer than this is not a real checkpoint (real ones are well under 10 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  /** safetensors dtype code: F32, BF16, U32, ... */
  dtype: string;
  shape: number[];
  file: string;
}

/**
 * Reads and checks a safetensors header: the length prefix, the JSON, and that every tensor's
 * byte range fits its dtype and shape inside the file. The binding's loader does not check
 * these and crashes the process on a damaged file (measured), so nothing reaches it unchecked.
 */
export async function readSafetensorsHeader(file: string): Promise<TensorInfo[]> {
  const { header, dataBytes, corrupt } = await readHeaderObject(file);
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      continue;
    }
    tensors.push(checkEntry(name, entry, dataBytes, file, corrupt));
  }
  return tensors;
}

/** The header's `__metadata__` (string → string; mflux writes `quantization_level` there), or an empty object. */
export async function readSafetensorsMetadata(file: string): Promise<Record<string, string>> {
  const { header } = await readHeaderObject(file);
  const metadata = header['__metadata__'];
  if (!isJsonObject(metadata)) {
    return {};
  }
  return Object.fromEntries(Object.entries(metadata).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

async function readHeaderObject(
  file: string,
): Promise<{ header: Record<string, unknown>; dataBytes: number; corrupt: (problem: string) => CorruptSafetensorsError }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const corrupt = (problem: string) => new CorruptSafetensorsError(file, problem);
    if (size < 8) {
      throw corrupt(`the file has ${size} bytes, less than the 8-byte header length`);
    }
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    const headerBytes = prefix.readBigUInt64LE(0);
    if (headerBytes > BigInt(Math.min(size - 8, MAX_HEADER_BYTES))) {
      throw corrupt(`the header claims ${headerBytes} bytes but the file has ${size}`);
    }
    const headerLength = Number(headerBytes);
    const json = Buffer.alloc(headerLength);
    await handle.read(json, 0, headerLength, 8);
    let header: unknown;
    try {
      header = JSON.parse(json.toString('utf8'));
    } catch {
      throw corrupt('the header is not valid JSON');
    }
    if (!isJsonObject(header)) {
      throw corrupt('the header is not a JSON object');
    }
    return { header, dataBytes: size - 8 - headerLength, corrupt };
  } finally {
    await handle.close();
  }
}

function checkEntry(
  name: string,
  entry: unknown,
  dataBytes: number,
  file: string,
  corrupt: (problem: string) => CorruptSafetensorsError,
): TensorInfo {
  if (!isJsonObject(entry)) {
    throw corrupt(`entry "${name}" is not an object`);
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || DTYPE_BYTES[dtype] === undefined) {
    throw corrupt(`tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw corrupt(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
    throw corrupt(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = (shape as number[]).reduce((n, d) => n * d, 1) * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    throw corrupt(`tensor "${name}" spans ${end - begin} bytes, its dtype and shape need ${expected}`);
  }
  if (end > dataBytes) {
    throw corrupt(`tensor "${name}" ends at byte ${end} of a ${dataBytes}-byte data section (truncated file?)`);
  }
  return { name, dtype, shape: shape as number[], file };
}
