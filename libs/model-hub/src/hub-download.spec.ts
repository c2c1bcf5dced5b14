import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HubNetworkError, HubRequestError, ModelDownloadError } from './errors';
import { downloadModel, type DownloadProgress } from './hub-download';
import { resolveModel } from './hub-cache';
import { HubServer } from './testing/hub-server';
import { commitOf, makeTempDir, MODEL_FILES, weights } from './testing/hub-tree';

const REPO = 'org/tiny';
const COMMIT = commitOf('v1');
// Big enough that a transfer can be cut in the middle of it.
const FILES = { ...MODEL_FILES.chat, 'model.safetensors': weights(200_000), 'sub/extra.json': '{"a": 1}', 'empty.py': '' };
const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

let hub: HubServer;
/** A port that was free a moment ago, so nothing answers there. */
let closedPort: number;
beforeAll(async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closedPort = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
});
let cache: string;
let cleanup: () => Promise<void>;
const repoDir = () => join(cache, 'models--org--tiny');
const pull = (options: { token?: string; onProgress?: (progress: DownloadProgress) => void } = {}, revision = 'main') =>
  downloadModel(REPO, revision, { hubCache: cache, endpoint: hub.url, ...options });

beforeEach(async () => {
  ({ dir: cache, cleanup } = await makeTempDir());
  hub = await HubServer.start([{ repoId: REPO, commit: COMMIT, files: FILES }]);
});
afterEach(async () => {
  await hub.close();
  await cleanup();
});

describe('downloadModel', () => {
  it('writes blobs, snapshot symlinks and refs/main as huggingface_hub does, and the catalog serves the result', async () => {
    const seen: DownloadProgress[] = [];

    const result = await pull({ onProgress: (progress) => seen.push(progress) });

    const snapshot = join(repoDir(), 'snapshots', COMMIT);
    const total = Object.values(FILES).reduce((sum, content) => sum + Buffer.byteLength(content), 0);
    expect(result).toEqual({ repoId: REPO, commit: COMMIT, path: snapshot, files: 6, bytesTotal: total, bytesFetched: total });
    expect(await readFile(join(repoDir(), 'refs', 'main'), 'utf8')).toBe(COMMIT);
    // LFS files are named by their sha256, the others by their git blob id, as the Hub's ETags name them.
    expect(await readlink(join(snapshot, 'model.safetensors'))).toBe(`../../blobs/${sha256(FILES['model.safetensors'])}`);
    const gitBlobId = createHash('sha1').update(`blob 8\0{"a": 1}`).digest('hex');
    expect(await readlink(join(snapshot, 'sub', 'extra.json'))).toBe(`../../../blobs/${gitBlobId}`);
    expect(sha256(await readFile(join(snapshot, 'model.safetensors')))).toBe(sha256(FILES['model.safetensors']));
    expect(await readFile(join(snapshot, 'empty.py'), 'utf8')).toBe('');
    expect((await readdir(join(repoDir(), 'blobs'))).filter((name) => name.endsWith('.incomplete'))).toEqual([]);
    expect(await resolveModel(REPO, { hubCache: cache })).toMatchObject({ kind: 'chat', revision: COMMIT, path: snapshot });

    expect(seen[0]).toEqual({ bytes_done: 0, bytes_total: total, files_done: 0, files_total: 6 });
    expect(seen.at(-1)).toEqual({ bytes_done: total, bytes_total: total, files_done: 6, files_total: 6 });
    const done = seen.map((progress) => progress.bytes_done);
    expect(done).toEqual([...done].sort((a, b) => a - b));
  });

  it('resumes a transfer cut mid-file with a Range request, and fetches nothing again once complete', async () => {
    hub.cutAfter.set('model.safetensors', 100_000);
    await expect(pull()).rejects.toThrow();
    const partial = join(repoDir(), 'blobs', `${sha256(FILES['model.safetensors'])}.incomplete`);
    const kept = (await stat(partial)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(FILES['model.safetensors'].length);
    expect(await resolveModel(REPO, { hubCache: cache })).toMatchObject({ kind: 'unknown' });

    const resumed = await pull();

    const weightRequests = hub.requests.filter((request) => request.path.endsWith('/model.safetensors'));
    expect(weightRequests.map((request) => request.range)).toEqual([undefined, `bytes=${kept}-`]);
    // The files before the cut were complete and are not fetched again; the weights continue where they stopped.
    expect(resumed.bytesFetched).toBe(FILES['model.safetensors'].length - kept + Buffer.byteLength(FILES['sub/extra.json']));
    expect(sha256(await readFile(join(resumed.path, 'model.safetensors')))).toBe(sha256(FILES['model.safetensors']));

    hub.requests.length = 0;
    expect((await pull()).bytesFetched).toBe(0);
    expect(hub.requests.filter((request) => request.path.includes('/resolve/'))).toEqual([]);
  });

  it('discards a partial file that does not match the hash the Hub gives, so the next try starts clean', async () => {
    const partial = join(repoDir(), 'blobs', `${sha256(FILES['model.safetensors'])}.incomplete`);
    await mkdir(dirname(partial), { recursive: true });
    await writeFile(partial, Buffer.alloc(1000, 1));

    await expect(pull()).rejects.toThrow(ModelDownloadError);
    await expect(stat(partial)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(sha256(await readFile(join((await pull()).path, 'model.safetensors')))).toBe(sha256(FILES['model.safetensors']));
  });

  it('sends HF_TOKEN as a bearer token, and turns 401 and 404 into permanent errors that say what to fix', async () => {
    hub.requiredToken = 'hf_secret';
    const denied = await pull().catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(HubRequestError);
    expect(denied).toMatchObject({ status: 401, permanent: true, code: 'hub_access_denied' });
    expect((denied as Error).message).toContain('HF_TOKEN');

    await expect(pull({ token: 'hf_secret' })).resolves.toMatchObject({ commit: COMMIT });
    expect(new Set(hub.requests.slice(1).map((request) => request.authorization))).toEqual(new Set(['Bearer hf_secret']));

    const missing = await pull({ token: 'hf_secret' }, 'v9').catch((error: unknown) => error);
    expect(missing).toMatchObject({ status: 404, permanent: true, code: 'model_not_on_hub' });
    expect((missing as Error).message).toContain('no model org/tiny at revision "v9"');
  });

  it.each([
    ['a host that does not resolve', () => 'http://no-such-hub.invalid', /^Could not download org\/tiny from no-such-hub\.invalid: DNS lookup of no-such-hub\.invalid failed \((ENOTFOUND|EAI_AGAIN)\); check the network and HF_ENDPOINT\.$/],
    ['a port nothing listens on', () => `http://127.0.0.1:${closedPort}`, /^Could not download org\/tiny from 127\.0\.0\.1:\d+: the connection was refused \(ECONNREFUSED: /],
    ['TLS with a server that does not speak it', () => hub.url.replace('http:', 'https:'), /: the TLS handshake failed \(ERR_SSL_[A-Z_]+: /],
  ])('names the cause of a network failure (%s), not just "fetch failed"', async (_case, endpoint, message) => {
    const failure = await downloadModel(REPO, 'main', { hubCache: cache, endpoint: endpoint() }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HubNetworkError);
    expect((failure as Error).message).toMatch(message);
  });
});

describe('downloadModel of a diffusers FLUX repo', () => {
  const diffusersFlux = {
    ...MODEL_FILES.image,
    'text_encoder/model.safetensors': weights(50),
    'text_encoder_2/model.safetensors': weights(60),
    // The BFL-format copy real diffusers snapshots carry beside the component folders.
    'flux1-schnell.safetensors': weights(5000),
    'ae.safetensors': weights(700),
    'README.md': '# FLUX.1 [schnell]',
  };

  beforeEach(async () => {
    await hub.close();
    hub = await HubServer.start([{ repoId: 'black-forest-labs/FLUX.1-schnell', commit: commitOf('bfl'), files: diffusersFlux }]);
  });

  it('skips the top-level BFL copies', async () => {
    const result = await downloadModel('black-forest-labs/FLUX.1-schnell', 'main', { hubCache: cache, endpoint: hub.url });
    const fetched = (await readdir(result.path, { recursive: true })).sort();
    expect(fetched).not.toContain('flux1-schnell.safetensors');
    expect(fetched).not.toContain('ae.safetensors');
    expect(fetched).toContain('transformer/diffusion_pytorch_model.safetensors');
    expect(result.bytesTotal).toBe(Object.entries(diffusersFlux).filter(([path]) => !['flux1-schnell.safetensors', 'ae.safetensors'].includes(path)).reduce((n, [, c]) => n + Buffer.byteLength(c), 0));
  });
});
