import { createWriteStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import { constants as zlibConstants, createInflateRaw, inflateRawSync } from 'node:zlib';
import { ModelLoadError } from './errors';
import { dtypeBytes, type TensorInfo } from './safetensors';

/** numpy's dtype strings → safetensors dtype codes (the byte order must be little-endian or irrelevant). */
const NPY_DTYPES: Readonly<Record<string, string>> = {
  '<f2': 'F16', '<f4': 'F32', '<f8': 'F64',
  '|u1': 'U8', '<u2': 'U16', '<u4': 'U32', '<u8': 'U64',
  '|i1': 'I8', '<i2': 'I16', '<i4': 'I32', '<i8': 'I64',
  '|b1': 'BOOL',
};

export class CorruptNpzError extends ModelLoadError {
  constructor(readonly filePath: string, problem: string) {
    super(`Corrupt .npz file ${filePath}: ${problem} (download it again)`);
  }
}

/** One `.npy` member of an .npz archive: where its bytes are and what they hold. */
interface NpzMember {
  name: string;
  dtype: string;
  shape: number[];
  /** Compressed (deflate) or stored. */
  deflated: boolean;
  /** Offset of the member's (possibly compressed) data in the archive, and its size there. */
  dataOffset: number;
  storedSize: number;
  /** Bytes of the .npy header inside the (uncompressed) member, before the array data. */
  npyHeaderBytes: number;
}

const EOCD = 0x06054b50;
const ZIP64_EOCD = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const MAX_COMMENT = 0xffff;

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** The zip's central directory: where it starts, how long it is and how many entries it has (zip64 included). */
async function centralDirectory(handle: FileHandle, size: number, corrupt: (problem: string) => Error): Promise<{ offset: number; length: number; entries: number }> {
  const tailStart = Math.max(0, size - (22 + MAX_COMMENT));
  const tail = await readAt(handle, tailStart, size - tailStart);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    throw corrupt('no zip end-of-directory record (not a zip archive, or truncated)');
  }
  let entries = tail.readUInt16LE(at + 10);
  let length = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  if (offset === 0xffffffff || length === 0xffffffff || entries === 0xffff) {
    const locator = at - 20;
    if (locator < 0 || tail.readUInt32LE(locator) !== ZIP64_LOCATOR) {
      throw corrupt('a zip64 archive without its zip64 locator');
    }
    const record = await readAt(handle, Number(tail.readBigUInt64LE(locator + 8)), 56);
    if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) {
      throw corrupt('a damaged zip64 end-of-directory record');
    }
    entries = Number(record.readBigUInt64LE(32));
    length = Number(record.readBigUInt64LE(40));
    offset = Number(record.readBigUInt64LE(48));
  }
  if (offset + length > size) {
    throw corrupt('the central directory lies past the end of the file (truncated?)');
  }
  return { offset, length, entries };
}

/**
 * The .npy header: magic, version, header length, then a Python dict literal such as
 * `{'descr': '<f2', 'fortran_order': False, 'shape': (384, 80), }`.
 */
function parseNpyHeader(bytes: Buffer, member: string, corrupt: (problem: string) => Error): { dtype: string; shape: number[]; headerBytes: number } {
  if (bytes.length < 10 || bytes.readUInt8(0) !== 0x93 || bytes.toString('latin1', 1, 6) !== 'NUMPY') {
    throw corrupt(`member ${member} is not a .npy array`);
  }
  const major = bytes.readUInt8(6);
  const lengthBytes = major === 1 ? 2 : 4;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = 8 + lengthBytes;
  if (bytes.length < start + headerLength) {
    throw corrupt(`member ${member} has a truncated .npy header`);
  }
  const dict = bytes.toString('latin1', start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(dict)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw corrupt(`member ${member} has an unreadable .npy header ${JSON.stringify(dict)}`);
  }
  const dtype = NPY_DTYPES[descr];
  if (dtype === undefined) {
    throw corrupt(`member ${member} has dtype ${descr}, which is not supported`);
  }
  const shape = shapeText
    .split(',')
    .map((dim) => dim.trim())
    .filter((dim) => dim !== '')
    .map(Number);
  if (!shape.every((dim) => Number.isInteger(dim) && dim >= 0)) {
    throw corrupt(`member ${member} has an invalid shape (${shapeText})`);
  }
  // MLX marks 1-D arrays Fortran-ordered; with at most one dimension above 1 both orders are the same bytes.
  if (fortran === 'True' && shape.filter((dim) => dim > 1).length > 1) {
    throw corrupt(`member ${member} is stored in Fortran order, which is not supported`);
  }
  return { dtype, shape, headerBytes: start + headerLength };
}

/** Enough of a member to read its .npy header: stored bytes as they are, deflated ones partly inflated. */
async function memberPrefix(handle: FileHandle, member: Omit<NpzMember, 'dtype' | 'shape' | 'npyHeaderBytes'>): Promise<Buffer> {
  const raw = await readAt(handle, member.dataOffset, Math.min(member.storedSize, 64 * 1024));
  return member.deflated ? inflateRawSync(raw, { finishFlush: zlibConstants.Z_SYNC_FLUSH }) : raw;
}

async function readMembers(handle: FileHandle, file: string): Promise<NpzMember[]> {
  const corrupt = (problem: string) => new CorruptNpzError(file, problem);
  const { size } = await handle.stat();
  const directory = await centralDirectory(handle, size, corrupt);
  const cd = await readAt(handle, directory.offset, directory.length);
  const members: NpzMember[] = [];
  let at = 0;
  for (let entry = 0; entry < directory.entries; entry++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL_ENTRY) {
      throw corrupt(`central directory entry ${entry} is damaged`);
    }
    const method = cd.readUInt16LE(at + 10);
    let storedSize = cd.readUInt32LE(at + 20);
    let rawSize = cd.readUInt32LE(at + 24);
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    let localOffset = cd.readUInt32LE(at + 42);
    const name = cd.toString('utf8', at + 46, at + 46 + nameLength);
    // Zip64: the 32-bit fields that overflowed are 0xffffffff and their values follow, in order, in extra field 1.
    const extra = cd.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(e);
      const length = extra.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let field = e + 4;
        const next = (): number => {
          const value = Number(extra.readBigUInt64LE(field));
          field += 8;
          return value;
        };
        if (rawSize === 0xffffffff) {rawSize = next();}
        if (storedSize === 0xffffffff) {storedSize = next();}
        if (localOffset === 0xffffffff) {localOffset = next();}
      }
      e += 4 + length;
    }
    at += 46 + nameLength + extraLength + commentLength;
    if (method !== 0 && method !== 8) {
      throw corrupt(`member ${name} uses zip compression method ${method} (only stored and deflate are supported)`);
    }
    if (!name.endsWith('.npy')) {
      continue;
    }
    const local = await readAt(handle, localOffset, 30);
    if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_HEADER) {
      throw corrupt(`member ${name} has no local header where the directory says`);
    }
    const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (dataOffset + storedSize > size) {
      throw corrupt(`member ${name} ends past the end of the file (truncated?)`);
    }
    const located = { name: name.slice(0, -'.npy'.length), deflated: method === 8, dataOffset, storedSize };
    const { dtype, shape, headerBytes } = parseNpyHeader(await memberPrefix(handle, located), name, corrupt);
    const elements = shape.reduce((n, d) => n * d, 1);
    const bytes = elements * dtypeBytes(dtype);
    if (!located.deflated && headerBytes + bytes !== storedSize) {
      throw corrupt(`member ${name} holds ${storedSize - headerBytes} data bytes, its dtype and shape need ${bytes}`);
    }
    if (headerBytes + bytes !== rawSize) {
      throw corrupt(`member ${name} unpacks to ${rawSize} bytes, its header and shape need ${headerBytes + bytes}`);
    }
    members.push({ ...located, dtype, shape, npyHeaderBytes: headerBytes });
  }
  return members;
}

/** The arrays of an .npz archive (numpy's `savez`: a zip of `.npy` files), as tensor headers; reads no array data. */
export async function readNpzHeader(file: string): Promise<TensorInfo[]> {
  const handle = await open(file, 'r');
  try {
    return (await readMembers(handle, file)).map(({ name, dtype, shape }) => ({ name, dtype, shape, file }));
  } finally {
    await handle.close();
  }
}

/**
 * Rewrites an .npz archive as a safetensors file, streaming each array's bytes (inflating the
 * members `savez_compressed` deflated). The binding loads safetensors natively and lazily, while
 * building arrays from JavaScript numbers is slow and, for uint32 above 2³¹, wrong (measured in
 * @frost-beta/mlx 0.0.7): converting keeps one loading path for every weight format.
 */
export async function npzToSafetensors(npzFile: string, outFile: string): Promise<void> {
  const handle = await open(npzFile, 'r');
  try {
    const members = await readMembers(handle, npzFile);
    const header: Record<string, unknown> = {};
    let offset = 0;
    for (const member of members) {
      const bytes = member.shape.reduce((n, d) => n * d, 1) * dtypeBytes(member.dtype);
      header[member.name] = { dtype: member.dtype, shape: member.shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
    // safetensors pads its header with spaces to a multiple of 8 bytes.
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    const out = createWriteStream(outFile);
    const write = async (chunk: Buffer): Promise<void> => {
      if (!out.write(chunk)) {
        await once(out, 'drain');
      }
    };
    try {
      await write(prefix);
      await write(Buffer.from(json));
      for (const member of members) {
        await copyArrayBytes(handle, member, write);
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
  } finally {
    await handle.close();
  }
}

const COPY_CHUNK = 4 * 1024 * 1024;

async function copyArrayBytes(handle: FileHandle, member: NpzMember, write: (chunk: Buffer) => Promise<void>): Promise<void> {
  if (!member.deflated) {
    for (let at = member.npyHeaderBytes; at < member.storedSize; at += COPY_CHUNK) {
      await write(await readAt(handle, member.dataOffset + at, Math.min(COPY_CHUNK, member.storedSize - at)));
    }
    return;
  }
  const inflate = createInflateRaw();
  let skip = member.npyHeaderBytes;
  const drained = (async () => {
    for await (const chunk of inflate) {
      let data = chunk as Buffer;
      if (skip > 0) {
        const dropped = Math.min(skip, data.length);
        data = data.subarray(dropped);
        skip -= dropped;
      }
      if (data.length > 0) {
        await write(data);
      }
    }
  })();
  for (let at = 0; at < member.storedSize; at += COPY_CHUNK) {
    const chunk = await readAt(handle, member.dataOffset + at, Math.min(COPY_CHUNK, member.storedSize - at));
    if (!inflate.write(chunk)) {
      await once(inflate, 'drain');
    }
  }
  inflate.end();
  await drained;
}
