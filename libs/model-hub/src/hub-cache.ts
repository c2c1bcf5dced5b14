import { rm } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { ModelInUseError, ModelNotDeletableError, ModelNotFoundError } from './errors';
import { companionFolders, describeModelDir, isModelDir, readTextIfPresent, scanFiles, statIfPresent, visibleEntries, type CompanionLocator, type ResolvedModel } from './model-dir';
import { isRepoId, parseModelId, repoFolderName, repoIdFromFolder } from './model-id';

/** Where models are looked for: the Hugging Face hub cache (OmniConfig.hfHubCache) first, then extra folders. */
export interface ModelHubOptions {
  hubCache: string;
  /**
   * Folders of model folders (LM Studio's `models/` is one): `<dir>/<name>/` is listed as `name`,
   * `<dir>/<org>/<name>/` as `org/name`.
   */
  extraDirs?: readonly string[];
}

type Lookup = () => Promise<ResolvedModel | undefined>;

/**
 * The first candidate that can be served; failing that, the first that exists at all, so a caller
 * can tell "there but incomplete" from "not there". Candidates are tried in order, lazily.
 */
async function firstServable(candidates: readonly Lookup[]): Promise<ResolvedModel | undefined> {
  let fallback: ResolvedModel | undefined;
  for (const lookup of candidates) {
    const model = await lookup();
    if (model !== undefined && model.kind !== 'unknown') {
      return model;
    }
    fallback ??= model;
  }
  return fallback;
}

const COMMIT = /^[0-9a-f]{40}$/;

/** The commit a ref (`main`, a tag, `refs/pr/1`) names, as huggingface_hub records it under `refs/`. */
async function readRef(repoDir: string, ref: string): Promise<string | undefined> {
  const commit = (await readTextIfPresent(join(repoDir, 'refs', ref)))?.trim();
  return commit !== undefined && COMMIT.test(commit) ? commit : undefined;
}

async function snapshotsNewestFirst(repoDir: string): Promise<string[]> {
  const snapshots = join(repoDir, 'snapshots');
  const dated = await Promise.all(
    (await visibleEntries(snapshots)).map(async (name) => ({ name, mtimeMs: (await statIfPresent(join(snapshots, name)))?.mtimeMs ?? 0 })),
  );
  return dated.sort((a, b) => b.mtimeMs - a.mtimeMs).map(({ name }) => name);
}

/**
 * refs/main's snapshot first, then the others newest first. The others matter because
 * huggingface_hub moves refs/main before a new revision's files arrive: while an update downloads,
 * the previous snapshot keeps the model servable.
 */
async function defaultRevisions(repoDir: string): Promise<string[]> {
  const [main, snapshots] = await Promise.all([readRef(repoDir, 'main'), snapshotsNewestFirst(repoDir)]);
  return main === undefined ? snapshots : [main, ...snapshots.filter((name) => name !== main)];
}

async function resolveInHub(options: ModelHubOptions, repoId: string, revision: string | undefined, id: string): Promise<ResolvedModel | undefined> {
  const repoDir = join(options.hubCache, repoFolderName(repoId));
  const pinned = revision === undefined || COMMIT.test(revision) ? revision : await readRef(repoDir, revision);
  if (revision !== undefined && pinned === undefined) {
    return undefined;
  }
  const revisions = pinned === undefined ? await defaultRevisions(repoDir) : [pinned];
  const locate = companionLocator(options);
  return firstServable(revisions.map((commit) => () => describeModelDir(join(repoDir, 'snapshots', commit), { id, revision: commit }, locate)));
}

/**
 * Where a companion repo (files another model takes, such as DiffusionKit's text encoders or F5-TTS's
 * vocoder) is: refs/main's snapshot in the hub cache, else the newest; else `<dir>/<org>/<name>` in an
 * extra folder. Companions are partial downloads of large repos, so unlike models they are not asked to be
 * servable on their own.
 */
export function companionLocator(options: ModelHubOptions): CompanionLocator {
  return async (repo) => {
    const repoDir = join(options.hubCache, repoFolderName(repo));
    const [snapshot] = await defaultRevisions(repoDir);
    if (snapshot !== undefined) {
      return join(repoDir, 'snapshots', snapshot);
    }
    for (const dir of options.extraDirs ?? []) {
      const path = join(dir, ...repo.split('/'));
      if ((await statIfPresent(path))?.isDirectory() === true) {
        return path;
      }
    }
    return undefined;
  };
}

/** The model in an absolute folder, with its companions located through `options` (what a worker loads). */
export function describeModelAt(path: string, options: ModelHubOptions): Promise<ResolvedModel | undefined> {
  return describeModelDir(path, { id: path }, companionLocator(options));
}

/** The cached folders of the companion repos of the model in `path`, by repo id: the `companions` the engine's loaders take. */
export async function companionFoldersAt(path: string, options: ModelHubOptions): Promise<Record<string, string>> {
  const model = await describeModelAt(path, options);
  return model === undefined ? {} : companionFolders(model);
}

/**
 * Finds the model an id names: an absolute folder path; `org/name` in the hub cache (refs/main's
 * snapshot, else the newest complete one), then in the extra folders; `org/name@revision` (a ref
 * or a commit) in the hub cache only. Undefined when nothing is there; a model that is there but
 * incomplete or unclassifiable comes back with kind 'unknown'. Throws InvalidModelIdError.
 */
export async function resolveModel(id: string, options: ModelHubOptions): Promise<ResolvedModel | undefined> {
  const parsed = parseModelId(id);
  const locate = companionLocator(options);
  if (parsed.kind === 'path') {
    return describeModelDir(parsed.path, { id: parsed.path }, locate);
  }
  const { repoId, revision } = parsed;
  const inExtraDirs: Lookup[] =
    revision === undefined ? (options.extraDirs ?? []).map((dir) => () => describeModelDir(join(dir, ...repoId.split('/')), { id }, locate)) : [];
  return firstServable([() => resolveInHub(options, repoId, revision, id), ...inExtraDirs]);
}

/** `<dir>/<name>/` and, in folders that are no model themselves, `<dir>/<org>/<name>/`. */
async function modelFoldersIn(dir: string): Promise<Array<{ id: string; path: string }>> {
  const levels = await Promise.all(
    (await visibleEntries(dir)).map(async (name) => {
      const path = join(dir, name);
      if (await isModelDir(path)) {
        return [{ id: name, path }];
      }
      const inner = await Promise.all(
        (await visibleEntries(path)).map(async (child) => ({ id: `${name}/${child}`, path: join(path, child), isModel: await isModelDir(join(path, child)) })),
      );
      return inner.filter((entry) => entry.isModel).map(({ id, path: innerPath }) => ({ id, path: innerPath }));
    }),
  );
  // A folder whose name no request could spell is not listed.
  return levels.flat().filter(({ id }) => isRepoId(id));
}

/**
 * Every servable model in the hub cache and the extra folders, sorted by id. Incomplete snapshots
 * and models no rule classifies are left out; when an id is in several places, the hub cache wins,
 * then the extra folders in order (the same order resolveModel looks in).
 */
export async function listModels(options: ModelHubOptions): Promise<ResolvedModel[]> {
  const repoIds = (await visibleEntries(options.hubCache)).flatMap((folder) => repoIdFromFolder(folder) ?? []);
  const extraFolders = (await Promise.all((options.extraDirs ?? []).map(modelFoldersIn))).flat();
  const locate = companionLocator(options);
  const found = await Promise.all([
    ...repoIds.map((repoId) => resolveInHub(options, repoId, undefined, repoId)),
    ...extraFolders.map(({ id, path }) => describeModelDir(path, { id }, locate)),
  ]);
  const byId = new Map<string, ResolvedModel>();
  for (const model of found) {
    if (model !== undefined && model.kind !== 'unknown' && !byId.has(model.id)) {
      byId.set(model.id, model);
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface DeletedModel {
  id: string;
  /** The `models--org--name` folder that was removed. */
  path: string;
  /** Bytes the removed blobs held. */
  freedBytes: number;
}

// blobs/<hash> is one folder down, snapshots/<rev>/<sub>/<file> three.
const REPO_DEPTH = 3;

/** The `models--*` folder of the hub cache that holds `path`, or undefined when `path` is not inside one. */
function repoFolderHolding(hubCache: string, path: string): string | undefined {
  const inside = relative(hubCache, path);
  const folder = inside.split(sep)[0];
  return isAbsolute(inside) || repoIdFromFolder(folder) === undefined ? undefined : join(hubCache, folder);
}

/**
 * Removes a model repo from the hub cache: blobs, refs and every snapshot. A path id must lie
 * inside a repo folder of the hub cache; models in the extra folders are the user's own and are
 * never deleted. `inUse` is asked about the repo folder before anything is removed; a true answer
 * throws ModelInUseError. Throws ModelNotDeletableError, ModelNotFoundError or InvalidModelIdError.
 */
export async function deleteModel(id: string, options: ModelHubOptions, inUse: (repoDir: string) => boolean = () => false): Promise<DeletedModel> {
  const parsed = parseModelId(id);
  let repoDir: string | undefined;
  if (parsed.kind === 'path') {
    repoDir = repoFolderHolding(options.hubCache, parsed.path);
    if (repoDir === undefined) {
      throw new ModelNotDeletableError(id, `only models in the Hugging Face cache (${options.hubCache}) can be deleted`);
    }
  } else if (parsed.revision !== undefined) {
    // Removing one revision means sorting out which blobs other revisions still link to; huggingface-cli does that.
    throw new ModelNotDeletableError(id, 'deleting removes every revision of a repo, so name it without "@revision"');
  } else {
    repoDir = join(options.hubCache, repoFolderName(parsed.repoId));
  }
  if ((await statIfPresent(repoDir))?.isDirectory() !== true) {
    throw new ModelNotFoundError(id, `Model "${id}" is not present in the cache (${options.hubCache}); there is nothing to delete.`);
  }
  if (inUse(repoDir)) {
    throw new ModelInUseError(id);
  }
  const { sizeBytes } = await scanFiles(repoDir, REPO_DEPTH);
  await rm(repoDir, { recursive: true });
  return { id, path: repoDir, freedBytes: sizeBytes };
}

/** A cache state's fingerprint, and whether it is old enough to be trusted (see cacheFingerprint). */
export interface CacheFingerprint {
  key: string;
  newestChangeMs: number;
}

/**
 * A key that changes whenever a listing could. A folder's mtime moves when an entry is added,
 * removed or renamed in it, so the key covers new repos (the hub folder), new revisions
 * (snapshots/), files linked into a snapshot (its folder), finished downloads (blobs/, where
 * huggingface_hub renames `<hash>.incomplete` to the blob; this also covers files in subfolders)
 * and refs/main moving (rewritten in place: its own mtime). Inode numbers catch a folder deleted
 * and made again within one clock tick. A few stats per model; no file is read.
 */
export async function cacheFingerprint(options: ModelHubOptions): Promise<CacheFingerprint> {
  const { hubCache } = options;
  const children = async (dir: string) => (await visibleEntries(dir)).map((name) => join(dir, name));
  const repoPaths = await Promise.all(
    (await visibleEntries(hubCache))
      .filter((folder) => repoIdFromFolder(folder) !== undefined)
      .map(async (folder) => {
        const repoDir = join(hubCache, folder);
        const snapshots = join(repoDir, 'snapshots');
        return [repoDir, join(repoDir, 'refs', 'main'), join(repoDir, 'blobs'), snapshots, ...(await children(snapshots))];
      }),
  );
  // Extra folders hold models one or two levels down; their grandchildren are model folders or model files.
  const extraPaths = await Promise.all(
    (options.extraDirs ?? []).map(async (dir) => {
      const level1 = await children(dir);
      return [dir, ...level1, ...(await Promise.all(level1.map(children))).flat()];
    }),
  );
  const paths = [hubCache, ...repoPaths.flat(), ...extraPaths.flat()];
  const stats = await Promise.all(paths.map(statIfPresent));
  return {
    key: paths.map((path, i) => `${path}\t${stats[i]?.mtimeMs ?? '-'}\t${stats[i]?.ino ?? '-'}`).join('\n'),
    newestChangeMs: Math.max(0, ...stats.map((info) => info?.mtimeMs ?? 0)),
  };
}
