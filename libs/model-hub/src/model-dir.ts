import type { Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { BFL_AUTOENCODER_FILE, BFL_TRANSFORMER_FILE, classifyModel, isF5Checkpoint, objectAt, type CompanionRepo, type JsonObject, type ModelKind } from '@mlx-omni/model-families';
import { readContextLength, readQuantization } from './config-facts';

/** A model folder's kind; 'unknown' when no family matches or the folder lacks what its family needs (left out of listings). */
export type DiscoveredKind = ModelKind | 'unknown';

/** A model found on disk and what the listing and the loaders need to know about it. */
export interface ResolvedModel {
  /** The id it was asked for or listed under: `org/name`, `org/name@revision`, or an absolute path. */
  readonly id: string;
  /** The folder holding config.json and the weights (for the hub cache: the snapshot folder). */
  readonly path: string;
  /** The snapshot's commit, for models from the hub cache. */
  readonly revision?: string;
  readonly kind: DiscoveredKind;
  /** The family of model-families' declaration that matched, when one did. */
  readonly family?: string;
  /** Whether the engine runs that family; an unsupported model is listed, and its routes answer 400. */
  readonly supported: boolean;
  readonly modelType?: string;
  readonly quantization?: { readonly bits: number; readonly groupSize: number };
  readonly contextLength?: number;
  /** Bytes on disk, each blob counted once however many snapshot files link to it. */
  readonly sizeBytes: number;
  /** Unix seconds: when the folder last changed, which for a snapshot is when its download finished. */
  readonly createdAt: number;
  /**
   * Other repos the model takes files from (DiffusionKit's text encoders, a Whisper conversion's
   * tokenizer, F5-TTS's vocoder), and where each is cached, if it is.
   */
  readonly companions: readonly ResolvedCompanion[];
}

export interface ResolvedCompanion extends CompanionRepo {
  /** Its folder in the cache; undefined while it is not there (the model then cannot load). */
  readonly path: string | undefined;
}

/** The cached folders of a model's companion repos by repo id: what the engine's loaders take as `companions`. */
export function companionFolders(model: Pick<ResolvedModel, 'companions'>): Record<string, string> {
  return Object.fromEntries(model.companions.flatMap((companion) => (companion.path === undefined ? [] : [[companion.repo, companion.path]])));
}

/** Finds a companion repo's folder (see hub-cache's companionLocator); undefined when it is not cached. */
export type CompanionLocator = (repo: string) => Promise<string | undefined>;

/**
 * Not there (any more): a model deleted or a download renamed while we looked, or a symlink loop in
 * someone's model folder, which must not fail the listing of every other model. Other errors
 * (permissions, I/O) are real faults and propagate.
 */
function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

export async function statIfPresent(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if (isMissing(error)) {
      return undefined;
    }
    throw error;
  }
}

/**
 * The entries of a folder, dot entries left out: `.cache/` is where `huggingface-cli download
 * --local-dir` keeps partial files, `.git/` a clone's history, `.incomplete-*` a snapshot being
 * staged; none is part of a model. Empty when the folder is missing or is a file.
 */
export async function visibleEntries(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).filter((name) => !name.startsWith('.'));
  } catch (error) {
    if (isMissing(error)) {
      return [];
    }
    throw error;
  }
}

export async function readTextIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isMissing(error)) {
      return undefined;
    }
    throw error;
  }
}

/** The file as a JSON object; undefined when missing or malformed, so one broken model cannot fail a listing. */
export async function readJsonObject(path: string): Promise<JsonObject | undefined> {
  const text = await readTextIfPresent(path);
  if (text === undefined) {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Whether the folder looks like a model at all: config.json, diffusers' model_index.json, the
 * transformer/ and vae/ folders mflux saves without either, or F5-TTS's vocab.txt beside its checkpoint
 * (which has no config.json). Checked before walking a folder, so a path id of `/` costs a few stats.
 */
export async function isModelDir(dir: string): Promise<boolean> {
  const [config, modelIndex, transformer, vae, autoencoder, vocab] = await Promise.all(
    ['config.json', 'model_index.json', 'transformer', 'vae', BFL_AUTOENCODER_FILE, 'vocab.txt'].map((name) => statIfPresent(join(dir, name))),
  );
  if (config?.isFile() === true || modelIndex?.isFile() === true || (transformer?.isDirectory() === true && vae?.isDirectory() === true)) {
    return true;
  }
  if (autoencoder?.isFile() !== true && vocab?.isFile() !== true) {
    return false;
  }
  // BFL single files (DiffusionKit: flux-schnell.safetensors beside ae.safetensors), or F5-TTS's checkpoint beside its vocab.txt.
  const entries = await visibleEntries(dir);
  return (autoencoder?.isFile() === true && entries.some((name) => BFL_TRANSFORMER_FILE.test(name))) || (vocab?.isFile() === true && entries.some(isF5Checkpoint));
}

export interface FileScan {
  /** "/"-separated paths relative to the scanned folder. */
  files: Set<string>;
  sizeBytes: number;
}

/**
 * Every file under `dir`, up to `maxDepth` folders down, following the symlinks the Hugging Face
 * cache makes from snapshots into blobs/. A dangling link (its blob not downloaded yet) is left
 * out. Sizes count each inode once, because files of identical content share one blob.
 */
export async function scanFiles(dir: string, maxDepth: number): Promise<FileScan> {
  const files = new Set<string>();
  const sizes = new Map<string, number>();
  const walk = async (relative: string, depth: number): Promise<void> => {
    const names = await visibleEntries(join(dir, relative));
    await Promise.all(
      names.map(async (name) => {
        const path = relative === '' ? name : `${relative}/${name}`;
        const info = await statIfPresent(join(dir, path));
        if (info?.isDirectory() && depth < maxDepth) {
          await walk(path, depth + 1);
        } else if (info?.isFile()) {
          files.add(path);
          sizes.set(`${info.dev}:${info.ino}`, info.size);
        }
      }),
    );
  };
  await walk('', 0);
  let sizeBytes = 0;
  for (const size of sizes.values()) {
    sizeBytes += size;
  }
  return { files, sizeBytes };
}

const WEIGHT_FILE = /\.(safetensors|npz)$/;

/** Some weight file is present and, for sharded checkpoints, every shard the index names. */
async function weightsComplete(dir: string, files: ReadonlySet<string>): Promise<boolean> {
  const paths = [...files];
  if (!paths.some((path) => WEIGHT_FILE.test(path))) {
    return false;
  }
  for (const index of paths.filter((path) => path.endsWith('.safetensors.index.json'))) {
    const weightMap = objectAt(await readJsonObject(join(dir, index)), 'weight_map');
    if (weightMap === undefined) {
      return false;
    }
    const folder = posix.dirname(index);
    const shards = new Set(Object.values(weightMap));
    if (![...shards].every((shard) => typeof shard === 'string' && files.has(folder === '.' ? shard : `${folder}/${shard}`))) {
      return false;
    }
  }
  return true;
}

// A model's files sit at its root or one folder down (diffusers: transformer/, vae/, text_encoder/).
const MODEL_DEPTH = 1;

/**
 * Describes the model in `dir`, or undefined when `dir` is no model folder (see isModelDir).
 * Reads config.json and any shard index and stats the rest; never opens weights.
 */
export async function describeModelDir(
  dir: string,
  naming: { id: string; revision?: string },
  locateCompanion: CompanionLocator = async () => undefined,
): Promise<ResolvedModel | undefined> {
  const root = await statIfPresent(dir);
  if (!root?.isDirectory() || !(await isModelDir(dir))) {
    return undefined;
  }
  const { files, sizeBytes } = await scanFiles(dir, MODEL_DEPTH);
  const config = await readJsonObject(join(dir, 'config.json'));
  const modelIndex = files.has('model_index.json') ? await readJsonObject(join(dir, 'model_index.json')) : undefined;
  const modelType = config?.['model_type'];
  const classification = classifyModel({ config, modelIndex, files, weightsComplete: await weightsComplete(dir, files) });
  const companions = await Promise.all(
    (classification?.companions ?? []).map(async (companion) => ({ ...companion, path: await locateCompanion(companion.repo) })),
  );
  return {
    id: naming.id,
    path: dir,
    revision: naming.revision,
    kind: classification?.complete === true ? classification.family.kind : 'unknown',
    family: classification?.family.id,
    supported: classification?.family.engine === true,
    modelType: typeof modelType === 'string' ? modelType : undefined,
    quantization: readQuantization(config),
    contextLength: readContextLength(config),
    sizeBytes,
    createdAt: Math.floor(root.mtimeMs / 1000),
    companions,
  };
}
