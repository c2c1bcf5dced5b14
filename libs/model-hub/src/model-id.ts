import { isAbsolute, normalize } from 'node:path';
import { InvalidModelIdError } from './errors';

/** What a model id names: a repo in the Hugging Face cache (or an extra directory), or a folder on disk. */
export type ModelId = { kind: 'repo'; repoId: string; revision: string | undefined } | { kind: 'path'; path: string };

// huggingface_hub's own rule (validate_repo_id): word characters, "-" and ".", starting and ending
// with a word character, at most 96 long. It also forbids "--" and "..", which is what makes the
// cache's `models--org--name` folder names reversible and keeps ids from walking out of a folder.
const REPO_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;
const REVISION = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;

/** Whether `repoId` is `name` or `org/name` as the Hub allows them. */
export function isRepoId(repoId: string): boolean {
  const parts = repoId.split('/');
  return parts.length <= 2 && parts.every((part) => REPO_PART.test(part) && !part.includes('--') && !part.includes('..'));
}

/**
 * Parses `name`, `org/name`, either with `@revision` (a ref such as `main` or `refs/pr/1`, or a
 * commit), or an absolute directory path. Throws InvalidModelIdError for anything else, so no id
 * can name a path outside the folders it is looked up in.
 */
export function parseModelId(id: string): ModelId {
  if (id.trim() === '') {
    throw new InvalidModelIdError(id, 'it is empty');
  }
  if (id.includes('\0')) {
    throw new InvalidModelIdError(id, 'it contains a NUL character');
  }
  if (isAbsolute(id)) {
    if (id.split('/').some((part) => part === '..' || part === '.')) {
      throw new InvalidModelIdError(id, 'a path id must not contain "." or ".." segments');
    }
    // normalize() keeps one trailing slash; ids of the same folder should compare equal.
    return { kind: 'path', path: normalize(id).replace(/(.)\/$/, '$1') };
  }
  const at = id.indexOf('@');
  const repoId = at < 0 ? id : id.slice(0, at);
  const revision = at < 0 ? undefined : id.slice(at + 1);
  if (!isRepoId(repoId)) {
    throw new InvalidModelIdError(id, 'expected "name" or "org/name" (letters, digits, "_", "-", "."; no "--" or ".."), or an absolute path');
  }
  if (revision !== undefined && (!REVISION.test(revision) || revision.split('/').some((part) => part === '.' || part === '..'))) {
    throw new InvalidModelIdError(id, 'the revision after "@" must be a branch, tag or commit');
  }
  return { kind: 'repo', repoId, revision };
}

/** `models--<org>--<name>`, the folder the Hugging Face cache gives a model repo. */
export function repoFolderName(repoId: string): string {
  return `models--${repoId.split('/').join('--')}`;
}

/** The repo id of a cache folder, or undefined for folders that are not model repos (datasets, spaces, locks). */
export function repoIdFromFolder(folder: string): string | undefined {
  if (!folder.startsWith('models--')) {
    return undefined;
  }
  const repoId = folder.slice('models--'.length).split('--').join('/');
  return isRepoId(repoId) ? repoId : undefined;
}
