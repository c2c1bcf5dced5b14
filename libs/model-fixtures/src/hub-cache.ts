import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

/** `models--<org>--<name>`, the folder Hugging Face's cache gives a model repo. */
export function repoFolderName(repoId: string): string {
  return `models--${repoId.split('/').join('--')}`;
}

export function snapshotDir(hubCacheDir: string, repoId: string, revision: string): string {
  return join(hubCacheDir, repoFolderName(repoId), 'snapshots', revision);
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** Git's blob id, which the hub uses as the blob name of files not stored in LFS. */
function gitBlobSha1(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** A file of the snapshot: inline content, or a producer that writes it (large weight files). */
export type SnapshotFile = { name: string; content: Buffer } | { name: string; write: (path: string) => Promise<void> };

/**
 * Writes one snapshot the way huggingface_hub lays out its cache: content-addressed files under
 * `blobs/` (sha256 for LFS files, the git blob id for small ones), symlinked from
 * `snapshots/<revision>/`, and `refs/main` naming the revision. The snapshot folder appears by
 * rename only when complete, so a crashed or concurrent run never leaves a half-written model.
 */
export async function writeSnapshot(hubCacheDir: string, repoId: string, revision: string, files: SnapshotFile[]): Promise<string> {
  const repoDir = join(hubCacheDir, repoFolderName(repoId));
  const blobs = join(repoDir, 'blobs');
  const snapshots = join(repoDir, 'snapshots');
  await mkdir(blobs, { recursive: true });
  await mkdir(snapshots, { recursive: true });
  await mkdir(join(repoDir, 'refs'), { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = join(snapshots, `.incomplete-${revision}-${tag}`);
  await mkdir(staging);

  for (const file of files) {
    const incoming = join(blobs, `.incoming-${tag}-${file.name.replaceAll('/', '_')}`);
    let blobId: string;
    if ('content' in file) {
      await writeFile(incoming, file.content);
      blobId = gitBlobSha1(file.content);
    } else {
      await file.write(incoming);
      blobId = await sha256File(incoming);
    }
    await rename(incoming, join(blobs, blobId));
    // Files in subfolders (diffusers' transformer/, vae/, …) link from deeper down.
    const link = join(staging, file.name);
    await mkdir(dirname(link), { recursive: true });
    await symlink(relative(dirname(link), join(blobs, blobId)), link);
  }

  const target = join(snapshots, revision);
  try {
    await rename(staging, target);
  } catch (error) {
    // Another process finished the same revision first; its copy is identical.
    if (!(await exists(join(target, files[0].name)))) {
      throw error;
    }
    await rm(staging, { recursive: true, force: true });
  }
  await writeRef(repoDir, revision);
  return target;
}

export async function writeRef(repoDir: string, revision: string): Promise<void> {
  const ref = join(repoDir, 'refs', 'main');
  const incoming = `${ref}.${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(join(repoDir, 'refs'), { recursive: true });
  await writeFile(incoming, revision);
  await rename(incoming, ref);
}
