import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { filesToPull } from '@mlx-omni/model-families';
import { HubNetworkError, HubRequestError, ModelDownloadError } from './errors';
import { statIfPresent } from './model-dir';
import { parseModelId, repoFolderName } from './model-id';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

export interface HubDownloadOptions {
  /** The Hugging Face cache the model is written into (OmniConfig.hfHubCache). */
  hubCache: string;
  /** The Hub's base URL (HF_ENDPOINT): huggingface.co, a mirror, or a test server. */
  endpoint?: string;
  /** Sent as `Authorization: Bearer` (HF_TOKEN), for gated and private repos. */
  token?: string;
  /** Called as bytes arrive; callers throttle what they do with it. */
  onProgress?: (progress: DownloadProgress) => void;
  /**
   * Only these paths of the repo (huggingface_hub's allow_patterns, as exact names: a companion's few
   * files out of a large repo); default: every file the engine may read.
   */
  only?: readonly string[];
  signal?: AbortSignal;
}

/** Wire-style names: this object is a job's progress in GET /v1/jobs/{id}. */
export interface DownloadProgress {
  bytes_done: number;
  bytes_total: number;
  files_done: number;
  files_total: number;
}

export interface DownloadedModel {
  repoId: string;
  /** The commit the revision named when the download started; the snapshot folder's name. */
  commit: string;
  /** The snapshot folder. */
  path: string;
  files: number;
  bytesTotal: number;
  /** Bytes fetched by this call; less than bytesTotal when blobs were already there or a partial file was resumed. */
  bytesFetched: number;
}

/** One file of a repo as the Hub's tree API describes it. */
interface RemoteFile {
  path: string;
  size: number;
  /**
   * The name huggingface_hub gives its blob, which is the file's ETag on the Hub: the sha256 of
   * the content for LFS files, the git blob id (sha1 of "blob <size>\0<content>") for the others.
   */
  etag: string;
  lfs: boolean;
}

interface TreeEntry {
  type: string;
  path: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number };
}

const COMMIT = /^[0-9a-f]{40}$/;

/** The Hub's path segment for a ref: huggingface_hub quotes it whole, so `refs/pr/1` stays one segment. */
const quoteRevision = (revision: string): string => encodeURIComponent(revision);
const quotePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

class HubClient {
  private readonly endpoint: string;

  constructor(
    readonly repoId: string,
    private readonly revision: string,
    private readonly options: HubDownloadOptions,
  ) {
    this.endpoint = (options.endpoint ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const url = `${this.endpoint}${path}`;
    const auth: Record<string, string> = this.options.token === undefined ? {} : { authorization: `Bearer ${this.options.token}` };
    let response: Response;
    try {
      // fetch drops the Authorization header when the Hub redirects a file to its CDN on another origin.
      response = await fetch(url, { headers: { ...auth, ...headers }, signal: this.options.signal, redirect: 'follow' });
    } catch (error) {
      throw this.networkError(url, error);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new HubRequestError(this.repoId, this.revision, url, response.status, this.options.token !== undefined);
    }
    return response;
  }

  /** A fault of the transfer itself, named; a cancellation stays what it is. */
  networkError(url: string, error: unknown): unknown {
    return this.options.signal?.aborted === true ? error : new HubNetworkError(this.repoId, url, error);
  }

  async json<T>(path: string): Promise<{ body: T; next: string | undefined }> {
    const response = await this.get(path);
    // The tree API pages long listings with a Link header, as GitHub's API does.
    const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
    return { body: (await response.json()) as T, next: next === undefined ? undefined : next.replace(this.endpoint, '') };
  }
}

async function listFiles(client: HubClient, repoId: string, commit: string): Promise<RemoteFile[]> {
  const files: RemoteFile[] = [];
  let page: string | undefined = `/api/models/${repoId}/tree/${commit}?recursive=true`;
  while (page !== undefined) {
    const { body, next }: { body: TreeEntry[]; next: string | undefined } = await client.json<TreeEntry[]>(page);
    for (const entry of body) {
      if (entry.type === 'file') {
        files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, etag: entry.lfs?.oid ?? entry.oid, lfs: entry.lfs !== undefined });
      }
    }
    page = next;
  }
  return files;
}

async function contentId(path: string, file: RemoteFile): Promise<string> {
  const hash = createHash(file.lfs ? 'sha256' : 'sha1');
  if (!file.lfs) {
    hash.update(`blob ${file.size}\0`);
  }
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** The body's chunks; a connection that breaks mid-file is reported with its cause. */
async function* readBody(client: HubClient, response: Response): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of response.body ?? []) {
      yield chunk as Uint8Array;
    }
  } catch (error) {
    throw client.networkError(response.url, error);
  }
}

/**
 * Fetches one file into `blobs/<etag>.incomplete`, continuing a partial one with a Range request
 * (huggingface_hub resumes the same file), then checks its size and hash before renaming it to
 * the blob. A mismatch discards the partial file, so the next try starts clean.
 */
async function fetchBlob(client: HubClient, url: string, blob: string, file: RemoteFile, onBytes: (count: number) => void): Promise<number> {
  const partial = `${blob}.incomplete`;
  // Opening for append creates the file, so an empty one (an __init__.py, say) needs no request.
  await (await open(partial, 'a')).close();
  const have = (await statIfPresent(partial))?.size ?? 0;
  onBytes(have);
  let fetched = 0;
  if (have < file.size) {
    const response = await client.get(url, have > 0 ? { range: `bytes=${have}-` } : {});
    // 200 to a Range request: the server ignored it and sends the whole file, so start over.
    const append = response.status === 206;
    if (!append) {
      onBytes(-have);
    }
    const handle = await open(partial, append ? 'a' : 'w');
    try {
      for await (const chunk of readBody(client, response)) {
        await handle.write(chunk);
        fetched += chunk.byteLength;
        onBytes(chunk.byteLength);
      }
    } finally {
      await handle.close();
    }
  }
  const size = (await statIfPresent(partial))?.size ?? 0;
  const id = size === file.size ? await contentId(partial, file) : undefined;
  if (id !== file.etag) {
    await rm(partial, { force: true });
    onBytes(-size);
    const found = id === undefined ? `${size} bytes, expected ${file.size}` : `${file.lfs ? 'sha256' : 'git blob id'} ${id}, expected ${file.etag}`;
    throw new ModelDownloadError(client.repoId, `${file.path} arrived corrupt (${found}); it will be fetched again`);
  }
  await rename(partial, blob);
  return fetched;
}

/**
 * Downloads a model repo from the Hub (or HF_ENDPOINT) into the Hugging Face cache exactly as
 * huggingface_hub's snapshot_download lays it out: `blobs/<etag>`, `snapshots/<commit>/<path>`
 * as relative symlinks to the blobs, and `refs/<revision>` naming the commit, so Python tools
 * use the same files. Blobs already present are not fetched again; a partial file from an
 * interrupted try is resumed. Throws HubRequestError (401/403/404 are permanent, see
 * `permanent`), ModelDownloadError for a corrupt file, and network errors as they come.
 */
export async function downloadModel(repoId: string, revision: string, options: HubDownloadOptions): Promise<DownloadedModel> {
  const parsed = parseModelId(`${repoId}@${revision}`);
  if (parsed.kind !== 'repo') {
    throw new ModelDownloadError(repoId, 'only Hub repo ids (org/name) can be downloaded');
  }
  const client = new HubClient(repoId, revision, options);
  const { body: info } = await client.json<{ sha?: string }>(`/api/models/${repoId}/revision/${quoteRevision(revision)}`);
  const commit = info.sha;
  if (commit === undefined || !COMMIT.test(commit)) {
    throw new ModelDownloadError(repoId, `the Hub did not name the commit of revision "${revision}"`);
  }
  const listed = await listFiles(client, repoId, commit);
  // Only what the engine reads: a diffusers FLUX repo's top-level BFL copies (33 GB) are skipped.
  const wanted = new Set(options.only ?? filesToPull(listed.map((file) => file.path)));
  const files = listed.filter((file) => wanted.has(file.path));
  const repoDir = join(options.hubCache, repoFolderName(repoId));
  const snapshot = join(repoDir, 'snapshots', commit);
  await mkdir(join(repoDir, 'blobs'), { recursive: true });
  if (revision !== commit) {
    // Written first, as huggingface_hub does; the catalog keeps serving an older complete snapshot meanwhile.
    await mkdir(dirname(join(repoDir, 'refs', revision)), { recursive: true });
    await writeFile(join(repoDir, 'refs', revision), commit);
  }

  const progress: DownloadProgress = { bytes_done: 0, bytes_total: files.reduce((sum, file) => sum + file.size, 0), files_done: 0, files_total: files.length };
  const report = () => options.onProgress?.({ ...progress });
  report();
  let bytesFetched = 0;
  for (const file of files) {
    const blob = join(repoDir, 'blobs', file.etag);
    if ((await statIfPresent(blob))?.size === file.size) {
      progress.bytes_done += file.size;
    } else {
      bytesFetched += await fetchBlob(client, `/${repoId}/resolve/${commit}/${quotePath(file.path)}`, blob, file, (count) => {
        progress.bytes_done += count;
        report();
      });
    }
    const link = join(snapshot, ...file.path.split('/'));
    await mkdir(dirname(link), { recursive: true });
    await rm(link, { force: true });
    await symlink(posix.join(posix.relative(posix.join('snapshots', commit, posix.dirname(file.path)), 'blobs'), file.etag), link);
    progress.files_done += 1;
    report();
  }
  await mkdir(snapshot, { recursive: true });
  return { repoId, commit, path: snapshot, files: files.length, bytesTotal: progress.bytes_total, bytesFetched };
}
