import { lstat, mkdir, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidModelIdError, ModelInUseError, ModelNotDeletableError, ModelNotFoundError } from './errors';
import { deleteModel, listModels, resolveModel } from './hub-cache';
import { commitOf, makeTempDir, MODEL_FILES, weights, without, writeHubSnapshot, writeModelFolder, type FileTree } from './testing/hub-tree';

const CHAT = MODEL_FILES.chat;

/** Bytes a tree takes in the cache: each distinct content once, as its blob. */
function blobBytes(files: FileTree): number {
  const distinct = new Map(Object.values(files).map((content) => [Buffer.from(content).toString('hex'), Buffer.byteLength(content)]));
  return [...distinct.values()].reduce((sum, size) => sum + size, 0);
}

/** A chat model whose snapshot lacks its weights: what huggingface_hub leaves while model.safetensors downloads. */
async function writeDownloadingSnapshot(hub: string, repoId: string, revision: string): Promise<string> {
  const snapshot = await writeHubSnapshot(hub, repoId, revision, without(CHAT, 'model.safetensors'));
  await writeFile(join(snapshot, '..', '..', 'blobs', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.incomplete'), weights(10));
  return snapshot;
}

async function setMtime(path: string, secondsAgo: number): Promise<void> {
  const when = new Date(Date.now() - secondsAgo * 1000);
  await utimes(path, when, when);
}

let hub: string;
let root: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: root, cleanup } = await makeTempDir());
  hub = join(root, 'hub');
  await mkdir(hub);
});
afterEach(() => cleanup());

describe('resolveModel', () => {
  it("finds refs/main's snapshot and describes it from config.json and the files", async () => {
    const snapshot = await writeHubSnapshot(hub, 'mlx-community/Qwen3-0.6B-4bit', commitOf('v1'), CHAT);
    await setMtime(snapshot, 90);

    const model = await resolveModel('mlx-community/Qwen3-0.6B-4bit', { hubCache: hub });

    expect(model).toEqual({
      id: 'mlx-community/Qwen3-0.6B-4bit',
      companions: [],
      path: snapshot,
      revision: commitOf('v1'),
      kind: 'chat',
      family: 'qwen3',
      supported: true,
      modelType: 'qwen3',
      quantization: { bits: 4, groupSize: 64 },
      contextLength: 40960,
      sizeBytes: blobBytes(CHAT),
      createdAt: Math.floor((await stat(snapshot)).mtimeMs / 1000),
    });
  });

  it('counts the blobs the snapshot links to, once each, not the symlinks', async () => {
    const files = { ...CHAT, 'copy-of-weights.safetensors': CHAT['model.safetensors'] };
    const snapshot = await writeHubSnapshot(hub, 'org/name', commitOf('v1'), files);
    expect((await lstat(join(snapshot, 'model.safetensors'))).isSymbolicLink()).toBe(true);

    const model = await resolveModel('org/name', { hubCache: hub });

    expect(model?.sizeBytes).toBe(blobBytes(CHAT));
    expect(model?.sizeBytes).toBeGreaterThan(1000);
  });

  it('follows refs/main rather than the newest snapshot', async () => {
    await writeHubSnapshot(hub, 'org/name', commitOf('new'), CHAT, { setMain: false });
    await writeHubSnapshot(hub, 'org/name', commitOf('pinned'), CHAT);
    await setMtime(join(hub, 'models--org--name', 'snapshots', commitOf('pinned')), 3600);

    expect((await resolveModel('org/name', { hubCache: hub }))?.revision).toBe(commitOf('pinned'));
  });

  it('takes the newest snapshot when refs/main is missing', async () => {
    await writeHubSnapshot(hub, 'org/name', commitOf('old'), CHAT, { setMain: false });
    await writeHubSnapshot(hub, 'org/name', commitOf('new'), CHAT, { setMain: false });
    await setMtime(join(hub, 'models--org--name', 'snapshots', commitOf('old')), 3600);

    expect((await resolveModel('org/name', { hubCache: hub }))?.revision).toBe(commitOf('new'));
  });

  it('keeps serving the previous snapshot while refs/main names one still downloading', async () => {
    await writeHubSnapshot(hub, 'org/name', commitOf('v1'), CHAT);
    await writeDownloadingSnapshot(hub, 'org/name', commitOf('v2'));

    const model = await resolveModel('org/name', { hubCache: hub });

    expect(model).toMatchObject({ kind: 'chat', revision: commitOf('v1') });
  });

  it("reports a snapshot that is only partly downloaded as 'unknown'", async () => {
    await writeDownloadingSnapshot(hub, 'org/name', commitOf('v1'));
    expect(await resolveModel('org/name', { hubCache: hub })).toMatchObject({ kind: 'unknown', revision: commitOf('v1') });
  });

  it("reports a sharded checkpoint missing a shard, or a link whose blob is gone, as 'unknown'", async () => {
    const rest = without(CHAT, 'model.safetensors');
    const weightMap = { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors' };
    await writeHubSnapshot(hub, 'org/sharded', commitOf('v1'), {
      ...rest,
      'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map: weightMap }),
      'model-00001-of-00002.safetensors': weights(100),
    });
    const dangling = await writeHubSnapshot(hub, 'org/dangling', commitOf('v1'), rest);
    await symlink(`../../blobs/${'0'.repeat(64)}`, join(dangling, 'model.safetensors'));

    expect((await resolveModel('org/sharded', { hubCache: hub }))?.kind).toBe('unknown');
    expect((await resolveModel('org/dangling', { hubCache: hub }))?.kind).toBe('unknown');
  });

  it('resolves @revision by ref name or commit, without falling back to another snapshot', async () => {
    await writeHubSnapshot(hub, 'org/name', commitOf('v1'), CHAT);
    await writeDownloadingSnapshot(hub, 'org/name', commitOf('v2'));
    await writeFile(join(hub, 'models--org--name', 'refs', 'v1.0'), `${commitOf('v1')}\n`);
    const options = { hubCache: hub };

    expect(await resolveModel('org/name@v1.0', options)).toMatchObject({ id: 'org/name@v1.0', revision: commitOf('v1'), kind: 'chat' });
    expect(await resolveModel(`org/name@${commitOf('v1')}`, options)).toMatchObject({ revision: commitOf('v1'), kind: 'chat' });
    expect(await resolveModel('org/name@main', options)).toMatchObject({ revision: commitOf('v2'), kind: 'unknown' });
    expect(await resolveModel('org/name@no-such-tag', options)).toBeUndefined();
    expect(await resolveModel(`org/name@${commitOf('never-fetched')}`, options)).toBeUndefined();
  });

  it('takes an absolute folder path as the id', async () => {
    const folder = await writeModelFolder(join(root, 'elsewhere', 'my-model'), CHAT);

    const model = await resolveModel(`${folder}/`, { hubCache: hub });

    expect(model).toMatchObject({ id: folder, path: folder, revision: undefined, kind: 'chat', sizeBytes: blobBytes(CHAT) });
    expect(await resolveModel(join(root, 'elsewhere'), { hubCache: hub })).toBeUndefined();
  });

  it('looks in the extra folders, one or two levels deep, after the hub cache', async () => {
    const extra = join(root, 'lmstudio-models');
    await writeModelFolder(join(extra, 'solo-model'), CHAT);
    const nested = await writeModelFolder(join(extra, 'org', 'name'), MODEL_FILES.embedding);
    const inHub = await writeHubSnapshot(hub, 'org/both', commitOf('v1'), CHAT);
    await writeModelFolder(join(extra, 'org', 'both'), CHAT);
    const options = { hubCache: hub, extraDirs: [join(root, 'missing'), extra] };

    expect(await resolveModel('solo-model', options)).toMatchObject({ id: 'solo-model', kind: 'chat' });
    expect(await resolveModel('org/name', options)).toMatchObject({ id: 'org/name', path: nested, kind: 'embedding' });
    expect((await resolveModel('org/both', options))?.path).toBe(inHub);
    expect(await resolveModel('org/name@main', options)).toBeUndefined();
  });

  it('is undefined for a model that is nowhere, and rejects ids that would leave the searched folders', async () => {
    await writeModelFolder(join(root, 'secret'), CHAT);

    expect(await resolveModel('org/absent', { hubCache: hub })).toBeUndefined();
    await expect(resolveModel('../secret', { hubCache: hub, extraDirs: [hub] })).rejects.toThrow(InvalidModelIdError);
    await expect(resolveModel('org/x@../../../secret', { hubCache: hub })).rejects.toThrow(InvalidModelIdError);
  });
});

describe('listModels', () => {
  it('lists one model of each kind, sorted by id, skipping incomplete, unclassifiable and non-model folders', async () => {
    await writeHubSnapshot(hub, 'org/tts', commitOf('a'), MODEL_FILES['text-to-speech']);
    await writeHubSnapshot(hub, 'org/chat', commitOf('a'), MODEL_FILES.chat);
    await writeHubSnapshot(hub, 'org/embedding', commitOf('a'), MODEL_FILES.embedding);
    await writeHubSnapshot(hub, 'org/stt', commitOf('a'), MODEL_FILES['speech-to-text']);
    await writeHubSnapshot(hub, 'org/image', commitOf('a'), MODEL_FILES.image);
    await writeHubSnapshot(hub, 'solo', commitOf('a'), CHAT);
    await writeDownloadingSnapshot(hub, 'org/downloading', commitOf('a'));
    await writeHubSnapshot(hub, 'org/t5', commitOf('a'), { ...CHAT, 'config.json': JSON.stringify({ architectures: ['T5ForConditionalGeneration'] }) });
    await writeHubSnapshot(hub, 'org/broken-config', commitOf('a'), { ...CHAT, 'config.json': '{"model_type": "qwen3",' });
    await mkdir(join(hub, 'datasets--org--data', 'snapshots'), { recursive: true });
    await mkdir(join(hub, '.locks', 'models--org--chat'), { recursive: true });
    await writeFile(join(hub, 'version.txt'), '1');

    const models = await listModels({ hubCache: hub });

    expect(models.map(({ id, kind }) => [id, kind])).toEqual([
      ['org/chat', 'chat'],
      ['org/embedding', 'embedding'],
      ['org/image', 'image'],
      ['org/stt', 'speech-to-text'],
      ['org/tts', 'text-to-speech'],
      ['solo', 'chat'],
    ]);
    expect(models.find((model) => model.id === 'org/image')?.sizeBytes).toBe(blobBytes(MODEL_FILES.image));
  });

  it('adds the extra folders, the hub cache winning a shared id, and leaves out folders no id could name', async () => {
    const extra = join(root, 'extra');
    await writeHubSnapshot(hub, 'org/both', commitOf('v1'), CHAT);
    await writeModelFolder(join(extra, 'org', 'both'), CHAT);
    await writeModelFolder(join(extra, 'org', 'other'), CHAT);
    await writeModelFolder(join(extra, 'whisper-tiny'), MODEL_FILES['speech-to-text']);
    await writeModelFolder(join(extra, 'has space'), CHAT);
    await writeModelFolder(join(extra, '.cache', 'partial'), CHAT);
    await symlink('looped', join(extra, 'looped'));

    const models = await listModels({ hubCache: hub, extraDirs: [extra] });

    expect(models.map(({ id, path }) => [id, path])).toEqual([
      ['org/both', join(hub, 'models--org--both', 'snapshots', commitOf('v1'))],
      ['org/other', join(extra, 'org', 'other')],
      ['whisper-tiny', join(extra, 'whisper-tiny')],
    ]);
  });

  it('is empty when the hub cache does not exist yet', async () => {
    expect(await listModels({ hubCache: join(root, 'no-hub'), extraDirs: [join(root, 'no-extra')] })).toEqual([]);
  });
});

describe('deleteModel', () => {
  it('removes the whole repo folder (blobs, refs, every snapshot) and reports the bytes freed', async () => {
    await writeHubSnapshot(hub, 'org/name', commitOf('v1'), CHAT);
    await writeHubSnapshot(hub, 'org/name', commitOf('v2'), { ...CHAT, 'model.safetensors': weights(2000) });
    await writeHubSnapshot(hub, 'org/kept', commitOf('v1'), CHAT);

    const deleted = await deleteModel('org/name', { hubCache: hub });

    // Both snapshots' shared blobs once, v2's own weights, and refs/main's 40-character commit.
    expect(deleted).toEqual({ id: 'org/name', path: join(hub, 'models--org--name'), freedBytes: blobBytes(CHAT) + 2000 + 40 });
    expect(await readdir(hub)).toEqual(['models--org--kept']);
    expect(await resolveModel('org/name', { hubCache: hub })).toBeUndefined();
  });

  it('takes the path of a snapshot inside the hub cache', async () => {
    const snapshot = await writeHubSnapshot(hub, 'org/name', commitOf('v1'), CHAT);

    await expect(deleteModel(snapshot, { hubCache: hub })).resolves.toMatchObject({ path: join(hub, 'models--org--name') });
    expect(await readdir(hub)).toEqual([]);
  });

  it('asks whether the repo folder is in use, and deletes nothing when it is', async () => {
    const snapshot = await writeHubSnapshot(hub, 'org/name', commitOf('v1'), CHAT);
    const asked: string[] = [];

    await expect(deleteModel(snapshot, { hubCache: hub }, (repoDir) => asked.push(repoDir) > 0)).rejects.toThrow(ModelInUseError);

    expect(asked).toEqual([join(hub, 'models--org--name')]);
    expect(await readdir(hub)).toEqual(['models--org--name']);
  });

  it('refuses paths outside the hub cache and single revisions, deleting nothing', async () => {
    const outside = await writeModelFolder(join(root, 'mine'), CHAT);
    await writeHubSnapshot(hub, 'org/name', commitOf('v1'), CHAT);
    const options = { hubCache: hub, extraDirs: [root] };

    await expect(deleteModel(outside, options)).rejects.toThrow(ModelNotDeletableError);
    await expect(deleteModel(hub, options)).rejects.toThrow(ModelNotDeletableError);
    await expect(deleteModel('org/name@main', options)).rejects.toThrow(ModelNotDeletableError);
    await expect(deleteModel('mine', options)).rejects.toThrow(ModelNotFoundError);
    expect((await stat(join(outside, 'config.json'))).isFile()).toBe(true);
    expect(await readdir(hub)).toEqual(['models--org--name']);
  });

  it('rejects traversal, and says a model that is not there is not present (not how to pull it)', async () => {
    await expect(deleteModel('../hub', { hubCache: join(hub, 'sub') })).rejects.toThrow(InvalidModelIdError);
    await expect(deleteModel('org/absent', { hubCache: hub })).rejects.toThrow(
      `Model "org/absent" is not present in the cache (${hub}); there is nothing to delete.`,
    );
    await rm(hub, { recursive: true });
    await expect(deleteModel('org/absent', { hubCache: hub })).rejects.toThrow(ModelNotFoundError);
  });
});
