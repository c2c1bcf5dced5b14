import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A file a long job produced (an image, a speech clip), as its job result references it. The bytes
 * live on disk under the state directory, never in Redis: a 1024x1024 PNG base64-encoded into a job
 * result would be megabytes in every `GET /v1/jobs/{id}` and in Redis's memory.
 */
export interface ArtifactRef {
  /** `file-…`: the id `GET /v1/files/{id}/content` serves it under. */
  id: string;
  filename: string;
  content_type: string;
  bytes: number;
  /** Unix seconds. */
  created_at: number;
  /** Unix seconds; after this the API answers 404 and the file is swept. */
  expires_at: number;
}

/** What is stored beside the file: the ref and the key that may read it. */
interface ArtifactMeta extends ArtifactRef {
  /** The API key's name that created the job ('' when keys are off); only it and admins may read the file. */
  owner: string;
}

export interface NewArtifact {
  filename: string;
  contentType: string;
  owner: string;
  ttlSeconds: number;
}

const ID_PATTERN = /^file-[0-9a-f]{24}$/;
const META = 'meta.json';

const unixSeconds = (ms: number) => Math.floor(ms / 1000);

function toRef({ id, filename, content_type, bytes, created_at, expires_at }: ArtifactMeta): ArtifactRef {
  return { id, filename, content_type, bytes, created_at, expires_at };
}

/**
 * Job outputs under `<state dir>/artifacts/<id>/`: the file and its meta.json. Workers write them,
 * API processes serve them; the folder is shared because both run on the same machine. A file appears
 * by rename only once complete, so a reader never sees half an image.
 */
export class ArtifactStore {
  constructor(private readonly dir: string) {}

  /**
   * Writes `content` (or lets `write` produce the file at the path it is given, with the id the file will
   * have) and returns its ref.
   */
  async create(artifact: NewArtifact, content: Buffer | ((path: string, id: string) => Promise<void>)): Promise<ArtifactRef> {
    if (artifact.filename.includes('/') || artifact.filename === META) {
      throw new RangeError(`invalid artifact file name "${artifact.filename}"`);
    }
    const id = `file-${randomBytes(12).toString('hex')}`;
    const staging = this.stagingDir(id);
    await mkdir(staging, { recursive: true });
    try {
      const path = join(staging, artifact.filename);
      if (Buffer.isBuffer(content)) {
        await writeFile(path, content);
      } else {
        await content(path, id);
      }
      const now = Date.now();
      const meta: ArtifactMeta = {
        id,
        filename: artifact.filename,
        content_type: artifact.contentType,
        bytes: (await stat(path)).size,
        created_at: unixSeconds(now),
        expires_at: unixSeconds(now + artifact.ttlSeconds * 1000),
        owner: artifact.owner,
      };
      await writeFile(join(staging, META), JSON.stringify(meta));
      await rename(staging, join(this.dir, id));
      return toRef(meta);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }

  /** The artifact and the path of its file; undefined when unknown, malformed or expired. */
  async find(id: string, now = Date.now()): Promise<{ ref: ArtifactRef; owner: string; path: string } | undefined> {
    if (!ID_PATTERN.test(id)) {
      return undefined;
    }
    const meta = await this.readMeta(id);
    if (meta === undefined || meta.expires_at * 1000 <= now) {
      return undefined;
    }
    return { ref: toRef(meta), owner: meta.owner, path: join(this.dir, id, meta.filename) };
  }

  /**
   * The paths of an artifact's file while it is being written and once complete, for a reader that sends
   * it as it grows: open the first, or the second when the first is gone (a descriptor opened on the
   * first survives the rename). Undefined for a malformed id or name.
   */
  filePaths(id: string, filename: string): { writing: string; complete: string } | undefined {
    if (!ID_PATTERN.test(id) || filename.includes('/') || filename === META) {
      return undefined;
    }
    return { writing: join(this.stagingDir(id), filename), complete: join(this.dir, id, filename) };
  }

  /** Where an artifact is written until it is complete; renamed to `<dir>/<id>` then. */
  private stagingDir(id: string): string {
    return join(this.dir, `.${id}.incomplete`);
  }

  async remove(id: string): Promise<void> {
    if (ID_PATTERN.test(id)) {
      await rm(join(this.dir, id), { recursive: true, force: true });
    }
  }

  /** Deletes expired artifacts, and staging folders a crashed writer left behind over an hour ago; returns how many went. */
  async sweep(now = Date.now()): Promise<number> {
    let removed = 0;
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        return [];
      }
      throw error;
    });
    for (const name of names) {
      const path = join(this.dir, name);
      if (name.endsWith('.incomplete')) {
        const info = await stat(path).catch(() => undefined);
        if (info !== undefined && now - info.mtimeMs > 3600_000) {
          await rm(path, { recursive: true, force: true });
          removed += 1;
        }
        continue;
      }
      const meta = ID_PATTERN.test(name) ? await this.readMeta(name) : undefined;
      if (meta !== undefined && meta.expires_at * 1000 <= now) {
        await rm(path, { recursive: true, force: true });
        removed += 1;
      }
    }
    return removed;
  }

  private async readMeta(id: string): Promise<ArtifactMeta | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, id, META), 'utf8')) as ArtifactMeta;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || error instanceof SyntaxError) {
        return undefined;
      }
      throw error;
    }
  }
}

/** Where a deployment's artifacts live: one folder under the state directory, shared by the API and the workers. */
export function artifactsDir(stateDir: string): string {
  return join(stateDir, 'artifacts');
}
