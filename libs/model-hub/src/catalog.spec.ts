import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelCatalog } from './catalog';
import { InvalidModelIdError, ModelNotFoundError } from './errors';
import { listModels, type ModelHubOptions } from './hub-cache';
import { backdate, commitOf, makeTempDir, MODEL_FILES, without, writeHubSnapshot, writeModelFolder } from './testing/hub-tree';

const CHAT = MODEL_FILES.chat;

let root: string;
let hub: string;
let extra: string;
let cleanup: () => Promise<void>;
let scan: jest.Mock<ReturnType<typeof listModels>, [ModelHubOptions]>;
let catalog: ModelCatalog;

const ids = async () => (await catalog.list()).map((model) => model.id);

beforeEach(async () => {
  ({ dir: root, cleanup } = await makeTempDir());
  hub = join(root, 'hub');
  extra = join(root, 'extra');
  await mkdir(extra);
  await writeHubSnapshot(hub, 'org/first', commitOf('v1'), CHAT);
  await backdate(root);
  scan = jest.fn(listModels);
  catalog = new ModelCatalog({ hubCache: hub, extraDirs: [extra] }, scan);
});
afterEach(() => cleanup());

describe('ModelCatalog.list', () => {
  it('scans once while the cache is unchanged', async () => {
    const first = await catalog.list();
    const second = await catalog.list();

    expect(second).toBe(first);
    expect(first.map((model) => model.id)).toEqual(['org/first']);
    expect(scan).toHaveBeenCalledTimes(1);
  });

  it('shares one scan between concurrent callers', async () => {
    const [a, b] = await Promise.all([catalog.list(), catalog.list()]);

    expect(a).toBe(b);
    expect(scan).toHaveBeenCalledTimes(1);

    // Also while the cache is too fresh to trust for later calls.
    await writeHubSnapshot(hub, 'org/fresh', commitOf('v1'), CHAT);
    const [c, d] = await Promise.all([catalog.list(), catalog.list()]);
    expect(c).toBe(d);
    expect(scan).toHaveBeenCalledTimes(2);
  });

  it('rescans when a model appears in the hub cache or an extra folder', async () => {
    await catalog.list();
    await writeHubSnapshot(hub, 'org/second', commitOf('v1'), CHAT);
    expect(await ids()).toEqual(['org/first', 'org/second']);

    await backdate(root);
    await writeModelFolder(join(extra, 'org', 'local'), MODEL_FILES.embedding);
    expect(await ids()).toEqual(['org/first', 'org/local', 'org/second']);
  });

  it('lists a snapshot once its download finishes, and the new revision once refs/main moves', async () => {
    const snapshot = await writeHubSnapshot(hub, 'org/pulling', commitOf('v1'), without(CHAT, 'model.safetensors'));
    await backdate(root);
    expect(await ids()).toEqual(['org/first']);

    // huggingface_hub's last step for a file: the finished blob, then the snapshot's link to it.
    await writeFile(join(hub, 'models--org--pulling', 'blobs', 'weights-blob'), CHAT['model.safetensors']);
    await symlink('../../blobs/weights-blob', join(snapshot, 'model.safetensors'));
    expect(await ids()).toEqual(['org/first', 'org/pulling']);

    await backdate(root);
    await writeHubSnapshot(hub, 'org/first', commitOf('v2'), CHAT);
    expect((await catalog.resolve('org/first')).revision).toBe(commitOf('v2'));
  });

  it('sees a file land in a snapshot subfolder, which leaves the snapshot folder itself unchanged', async () => {
    const name = 'transformer/diffusion_pytorch_model.safetensors';
    const snapshot = await writeHubSnapshot(hub, 'org/flux', commitOf('v1'), without(MODEL_FILES.image, name, 'vae/diffusion_pytorch_model.safetensors'));
    await backdate(root);
    expect(await ids()).toEqual(['org/first']);

    await writeFile(join(hub, 'models--org--flux', 'blobs', 'transformer-blob'), MODEL_FILES.image[name]);
    await symlink('../../../blobs/transformer-blob', join(snapshot, name));
    expect(await ids()).toEqual(['org/first', 'org/flux']);
  });

  it('follows refs/main when it is rewritten to a snapshot already there', async () => {
    await writeHubSnapshot(hub, 'org/first', commitOf('v2'), CHAT);
    await backdate(root);
    expect((await catalog.resolve('org/first')).revision).toBe(commitOf('v2'));

    await writeFile(join(hub, 'models--org--first', 'refs', 'main'), commitOf('v1'));
    expect((await catalog.resolve('org/first')).revision).toBe(commitOf('v1'));
  });

  it('does not trust a listing taken while the cache was still changing', async () => {
    await writeHubSnapshot(hub, 'org/fresh', commitOf('v1'), CHAT);
    await catalog.list();
    await catalog.list();
    expect(scan).toHaveBeenCalledTimes(2);

    await backdate(root);
    await catalog.list();
    await catalog.list();
    expect(scan).toHaveBeenCalledTimes(3);
  });

  it('rescans after invalidate() and after a failed scan', async () => {
    await catalog.list();
    catalog.invalidate();
    await catalog.list();
    expect(scan).toHaveBeenCalledTimes(2);

    scan.mockRejectedValueOnce(new Error('EACCES: permission denied'));
    catalog.invalidate();
    await expect(catalog.list()).rejects.toThrow('EACCES');
    expect(await ids()).toEqual(['org/first']);
    expect(scan).toHaveBeenCalledTimes(4);
  });
});

describe('ModelCatalog.resolve', () => {
  it('answers listed ids from the cached listing', async () => {
    await catalog.list();

    expect(await catalog.resolve('org/first')).toMatchObject({ id: 'org/first', kind: 'chat', revision: commitOf('v1') });
    expect(scan).toHaveBeenCalledTimes(1);
  });

  it('looks up path and @revision ids on disk', async () => {
    const folder = await writeModelFolder(join(root, 'elsewhere'), CHAT);

    expect(await catalog.resolve(folder)).toMatchObject({ id: folder, kind: 'chat' });
    expect(await catalog.resolve(`org/first@${commitOf('v1')}`)).toMatchObject({ revision: commitOf('v1') });
    expect(scan).not.toHaveBeenCalled();
  });

  it('throws ModelNotFoundError for absent or incomplete models and InvalidModelIdError for bad ids', async () => {
    await writeHubSnapshot(hub, 'org/incomplete', commitOf('v1'), without(CHAT, 'model.safetensors'));

    await expect(catalog.resolve('org/absent@v2')).rejects.toThrow(
      'Pull it with `mlx-omni-server models pull org/absent@v2` or POST /v1/models/pull {"model": "org/absent", "revision": "v2"}.',
    );
    await expect(catalog.resolve('org/incomplete')).rejects.toThrow(ModelNotFoundError);
    await expect(catalog.resolve('org/incomplete')).rejects.toMatchObject({ name: 'ModelNotFoundError', code: 'model_not_found', modelId: 'org/incomplete' });
    await expect(catalog.resolve(`org/incomplete@${commitOf('v1')}`)).rejects.toThrow(ModelNotFoundError);
    await expect(catalog.resolve(join(root, 'nowhere'))).rejects.toThrow(`No model at "${join(root, 'nowhere')}"`);
    await expect(catalog.resolve('../../etc')).rejects.toThrow(InvalidModelIdError);
  });
});
