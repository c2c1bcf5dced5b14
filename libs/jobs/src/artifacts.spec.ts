import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from './artifacts';

describe('ArtifactStore', () => {
  let dir: string;
  let store: ArtifactStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'omni-artifacts-'));
    store = new ArtifactStore(join(dir, 'artifacts'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const png = { filename: 'image-0.png', contentType: 'image/png', owner: 'alice', ttlSeconds: 60 };

  it('writes a file and finds it by id with its owner, type and size', async () => {
    const ref = await store.create(png, Buffer.from('not really a png'));
    expect(ref).toMatchObject({ filename: 'image-0.png', content_type: 'image/png', bytes: 16 });
    expect(ref.id).toMatch(/^file-[0-9a-f]{24}$/);
    expect(ref.expires_at - ref.created_at).toBe(60);
    const found = await store.find(ref.id);
    expect(found).toEqual({ ref, owner: 'alice', path: join(dir, 'artifacts', ref.id, 'image-0.png') });
    expect(await readFile(found!.path, 'utf8')).toBe('not really a png');
  });

  it('lets a producer write the file in place (an encoder writing to a path)', async () => {
    const ref = await store.create({ ...png, filename: 'speech.wav' }, (path) => writeFile(path, Buffer.alloc(44)));
    expect(ref.bytes).toBe(44);
  });

  it('leaves nothing behind when the producer fails', async () => {
    await expect(store.create(png, async () => Promise.reject(new Error('encoder crashed')))).rejects.toThrow('encoder crashed');
    expect(await readdir(join(dir, 'artifacts'))).toEqual([]);
  });

  it('does not find unknown, malformed or expired ids', async () => {
    const ref = await store.create(png, Buffer.from('x'));
    expect(await store.find('file-000000000000000000000000')).toBeUndefined();
    expect(await store.find('../../etc/passwd')).toBeUndefined();
    expect(await store.find(ref.id, (ref.expires_at + 1) * 1000)).toBeUndefined();
  });

  it('refuses file names that would escape the folder or clash with the metadata', async () => {
    await expect(store.create({ ...png, filename: '../x.png' }, Buffer.from('x'))).rejects.toThrow(RangeError);
    await expect(store.create({ ...png, filename: 'meta.json' }, Buffer.from('x'))).rejects.toThrow(RangeError);
  });

  it('sweeps expired files and stale staging folders, and keeps the rest', async () => {
    const short = await store.create({ ...png, ttlSeconds: 60 }, Buffer.from('short'));
    const long = await store.create({ ...png, ttlSeconds: 3600 }, Buffer.from('long'));
    const stale = join(dir, 'artifacts', '.file-abc.incomplete');
    await mkdir(stale);
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    expect(await store.sweep((short.expires_at + 1) * 1000)).toBe(2);
    expect(await readdir(join(dir, 'artifacts'))).toEqual([long.id]);
  });

  it('sweeps an absent folder as empty', async () => {
    expect(await store.sweep()).toBe(0);
  });
});
