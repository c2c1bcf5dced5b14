import { core as mx } from '@frost-beta/mlx';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

/**
 * Writes arrays as numpy's `savez` does (what older mlx-community Whisper repos ship as weights.npz):
 * a zip with one `<name>.npy` per array, stored, or deflated as `savez_compressed` writes them.
 * The .npy files are MLX's own (`mx.save`).
 */
export async function saveNpz(path: string, arrays: Record<string, mx.array>, { compressed = false }: { compressed?: boolean } = {}): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), `npz-${randomBytes(4).toString('hex')}-`));
  try {
    const locals: Buffer[] = [];
    const central: Buffer[] = [];
    let offset = 0;
    for (const [name, array] of Object.entries(arrays)) {
      const file = join(scratch, `${locals.length}.npy`);
      mx.save(file, array);
      const raw = await readFile(file);
      const data = compressed ? deflateRawSync(raw) : raw;
      const entryName = Buffer.from(`${name}.npy`, 'utf8');
      const crc = crc32(raw);
      const method = compressed ? 8 : 0;
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4); // version needed
      local.writeUInt16LE(0, 6); // flags
      local.writeUInt16LE(method, 8);
      local.writeUInt32LE(0, 10); // time and date
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(data.length, 18);
      local.writeUInt32LE(raw.length, 22);
      local.writeUInt16LE(entryName.length, 26);
      local.writeUInt16LE(0, 28);
      locals.push(local, entryName, data);
      const entry = Buffer.alloc(46);
      entry.writeUInt32LE(0x02014b50, 0);
      entry.writeUInt16LE(20, 4); // version made by
      entry.writeUInt16LE(20, 6);
      entry.writeUInt16LE(0, 8);
      entry.writeUInt16LE(method, 10);
      entry.writeUInt32LE(0, 12);
      entry.writeUInt32LE(crc, 16);
      entry.writeUInt32LE(data.length, 20);
      entry.writeUInt32LE(raw.length, 24);
      entry.writeUInt16LE(entryName.length, 28);
      entry.writeUInt32LE(offset, 42);
      central.push(entry, entryName);
      offset += 30 + entryName.length + data.length;
    }
    const directory = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    const count = Object.keys(arrays).length;
    end.writeUInt16LE(count, 8);
    end.writeUInt16LE(count, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    await writeFile(path, Buffer.concat([...locals, directory, end]));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
