import { core as mx } from '@frost-beta/mlx';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A float32 array from host memory, through a temporary .npy file that the binding loads natively.
 * The binding builds arrays from JavaScript numbers one element at a time (1.7 s for a million
 * samples, measured), which is most of a minute of audio; the file round trip takes milliseconds.
 */
export async function float32ArrayFromHost(data: Float32Array, shape: readonly number[] = [data.length]): Promise<mx.array> {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // The .npy preamble (10 bytes) plus the header, padded with spaces to a multiple of 64 and ending in a newline.
  const padded = header + ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const preamble = Buffer.alloc(10);
  preamble.writeUInt8(0x93, 0);
  preamble.write('NUMPY', 1, 'latin1');
  preamble.writeUInt8(1, 6);
  preamble.writeUInt8(0, 7);
  preamble.writeUInt16LE(padded.length, 8);
  const path = join(tmpdir(), `mlx-omni-host-${process.pid}-${randomBytes(6).toString('hex')}.npy`);
  await writeFile(path, Buffer.concat([preamble, Buffer.from(padded, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
  try {
    const array = mx.load(path);
    mx.eval(array);
    return array;
  } finally {
    await rm(path, { force: true });
  }
}
