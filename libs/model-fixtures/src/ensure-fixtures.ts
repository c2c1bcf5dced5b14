import { core as mx } from '@frost-beta/mlx';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { exists, repoFolderName, snapshotDir, writeRef, writeSnapshot, type SnapshotFile } from './hub-cache';
import { ALL_FIXTURE_SPECS, FIXTURE_SPECS, type FixtureSpec } from './specs';
import { tensorLayout, type PlannedTensor } from './tensor-layout';
import { tokenizerFiles } from './tokenizer-files';

/** Bump when the generator's output changes for the same spec: revisions (and so caches) change with it. */
const GENERATOR_VERSION = 3;

/** The snapshot revision: a hash of the spec, so a changed spec is a new revision and an unchanged one is reused. */
export function fixtureRevision(spec: FixtureSpec): string {
  return createHash('sha1').update(`${GENERATOR_VERSION}\n${JSON.stringify(spec)}`).digest('hex');
}

/**
 * Makes sure the fixtures exist under `hubCacheDir` (a Hugging Face hub cache) and returns each
 * model id's snapshot directory. Complete snapshots are kept; missing ones are generated.
 * `ids` defaults to the tiny set (FIXTURE_SPECS); the bench fixture must be asked for by id.
 */
export async function ensureFixtures(hubCacheDir: string, ids?: string[]): Promise<Map<string, string>> {
  return ensureSnapshots(hubCacheDir, ids ? ids.map(findSpec) : [...FIXTURE_SPECS], fixtureRevision, writeFixture);
}

/**
 * Each spec's snapshot in the hub cache, by id: a complete one (it has config.json) is kept and `refs/main`
 * pointed back at it; a missing one is written by `write`.
 */
export async function ensureSnapshots<S extends { id: string }>(
  hubCacheDir: string,
  specs: readonly S[],
  revisionOf: (spec: S) => string,
  write: (hubCacheDir: string, spec: S, revision: string) => Promise<void>,
): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const spec of specs) {
    const revision = revisionOf(spec);
    const dir = snapshotDir(hubCacheDir, spec.id, revision);
    if (await exists(join(dir, 'config.json'))) {
      await writeRef(join(hubCacheDir, repoFolderName(spec.id)), revision);
    } else {
      await write(hubCacheDir, spec, revision);
    }
    dirs.set(spec.id, dir);
  }
  return dirs;
}

function findSpec(id: string): FixtureSpec {
  const spec = ALL_FIXTURE_SPECS.find((s) => s.id === id);
  if (!spec) {
    throw new Error(`Unknown fixture "${id}"; known fixtures: ${ALL_FIXTURE_SPECS.map((s) => s.id).join(', ')}`);
  }
  return spec;
}

async function writeFixture(hubCacheDir: string, spec: FixtureSpec, revision: string): Promise<void> {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value, null, 2));
  const config: Record<string, unknown> = { ...spec.config };
  if (spec.quantization) {
    const { groupSize, bits, overrides } = spec.quantization;
    // mlx-lm writes the block under both names.
    config['quantization'] = { group_size: groupSize, bits, ...overrides };
    config['quantization_config'] = config['quantization'];
  }
  const files: SnapshotFile[] = [
    { name: 'config.json', content: json(config) },
    { name: 'generation_config.json', content: json(spec.generationConfig) },
    ...Object.entries(await tokenizerFiles(spec)).map(([name, content]) => ({ name, content })),
    ...weightFiles(spec),
  ];
  await writeSnapshot(hubCacheDir, spec.id, revision, files);
}

/**
 * model.safetensors, or N shards plus model.safetensors.index.json. Shards split the list of
 * stored tensors evenly by count, so the packed weight, scales and biases of one quantized module
 * can land in different shards, as they do in real checkpoints.
 */
function weightFiles(spec: FixtureSpec): SnapshotFile[] {
  const layout = tensorLayout(spec);
  const shardCount = spec.shards ?? 1;
  if (shardCount === 1) {
    return [{ name: 'model.safetensors', write: (path) => writeTensors(spec, layout, path, () => true) }];
  }
  const stored = layout.flatMap((t) => outputNames(spec, t));
  const perShard = Math.ceil(stored.length / shardCount);
  const pad = (n: number) => String(n).padStart(5, '0');
  const names = Array.from({ length: shardCount }, (_, i) => `model-${pad(i + 1)}-of-${pad(shardCount)}.safetensors`);
  const weightMap: Record<string, string> = {};
  stored.forEach((name, i) => (weightMap[name] = names[Math.floor(i / perShard)]));
  const totalSize = layout.reduce((sum, t) => sum + storedBytes(spec, t), 0);
  return [
    ...names.map(
      (shard): SnapshotFile => ({ name: shard, write: (path) => writeTensors(spec, layout, path, (name) => weightMap[name] === shard) }),
    ),
    { name: 'model.safetensors.index.json', content: Buffer.from(JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)) },
  ];
}

function quantizationOf(spec: FixtureSpec, tensor: PlannedTensor): { groupSize: number; bits: number } | undefined {
  const q = spec.quantization;
  if (!q || (tensor.role !== 'linear' && tensor.role !== 'embedding')) {
    return undefined;
  }
  const module = tensor.name.replace(/\.weight$/, '');
  const override = q.overrides?.[module];
  if (override === false) {
    return undefined;
  }
  return override ? { groupSize: override.group_size, bits: override.bits } : { groupSize: q.groupSize, bits: q.bits };
}

const DTYPE_BYTES = { float32: 4, bfloat16: 2, float16: 2 };

/** Bytes a planned tensor takes on disk: packed words plus scales and biases when quantized. */
function storedBytes(spec: FixtureSpec, tensor: PlannedTensor): number {
  const elements = tensor.shape.reduce((n, d) => n * d, 1);
  const q = quantizationOf(spec, tensor);
  if (!q) {
    return elements * DTYPE_BYTES[spec.dtype];
  }
  return (elements * q.bits) / 8 + 2 * (elements / q.groupSize) * DTYPE_BYTES[spec.dtype];
}

function outputNames(spec: FixtureSpec, tensor: PlannedTensor): string[] {
  if (!quantizationOf(spec, tensor)) {
    return [tensor.name];
  }
  const module = tensor.name.replace(/\.weight$/, '');
  return [`${module}.weight`, `${module}.scales`, `${module}.biases`];
}

/** A stable 31-bit seed per (fixture, tensor), so every tensor is reproducible on its own. */
export function tensorSeed(fixtureSeed: number, name: string): number {
  return createHash('sha1').update(`${fixtureSeed}:${name}`).digest().readUInt32LE(0) >>> 1;
}

/** Uniform on [-a, a] with standard deviation `std`. */
export function uniform(shape: number[], std: number, key: mx.array): mx.array {
  const a = std * Math.sqrt(3);
  return mx.random.uniform(-a, a, shape, mx.float32, key);
}

/**
 * Standard deviation of each tensor's values: activations stay O(1) through the layers and
 * logits are well spread, so greedy decoding has clear winners and comparisons between paths
 * are not decided by near-ties. Uniform rather than normal draws: 3x faster in this binding.
 */
function valueStd(tensor: PlannedTensor): number {
  switch (tensor.role) {
    case 'embedding':
    case 'linear':
      // Rows of unit norm: embeddings no larger than what each layer adds, so tokens depend on the
      // layers rather than echoing the input through the tied head.
      return 1 / Math.sqrt(tensor.shape[tensor.shape.length - 1]);
    case 'norm':
    case 'offset-norm':
    case 'bias':
      return 0.1;
    case 'other':
      return 0.02;
  }
}

function floatTensor(spec: FixtureSpec, tensor: PlannedTensor): mx.array {
  const values = uniform(tensor.shape, valueStd(tensor), mx.random.key(tensorSeed(spec.seed, tensor.name)));
  return tensor.role === 'norm' ? mx.add(values, 1) : values;
}

function quantizedTensor(spec: FixtureSpec, tensor: PlannedTensor, q: { groupSize: number; bits: number }): [mx.array, mx.array, mx.array] {
  return packedQuantized(tensor.shape, valueStd(tensor), q, (i) => tensorSeed(spec.seed, `${tensor.name}#${i}`));
}

/**
 * A random matrix drawn directly in MLX's packed form: every uint32 word is a valid packing of
 * 32/bits codes, and per-group scales and biases centre the codes so the dequantized values have
 * a spread of `std`. Drawing floats and quantizing them took seconds per vocabulary-sized table.
 */
export function packedQuantized(
  shape: number[],
  std: number,
  q: { groupSize: number; bits: number },
  seedOf: (draw: number) => number,
): [mx.array, mx.array, mx.array] {
  const [highKey, lowKey, scalesKey, biasesKey] = [0, 1, 2, 3].map((i) => mx.random.key(seedOf(i)));
  const lead = shape.slice(0, -1);
  const width = shape[shape.length - 1];
  // Two 16-bit halves: a full-range randint comes from a float32 draw and leaves the low bits zero.
  const wordShape = [...lead, (width * q.bits) / 32];
  const half = (key: mx.array) => mx.random.randint(0, 65536, wordShape, mx.int32, key).astype(mx.uint32);
  const words = mx.bitwiseOr(mx.leftShift(half(highKey), mx.array(16, mx.uint32)), half(lowKey));
  const groups = [...lead, width / q.groupSize];
  const levels = 2 ** q.bits;
  // Codes are uniform on [0, levels): standard deviation ≈ levels / √12.
  const baseScale = (std * Math.sqrt(12)) / levels;
  const scales = mx.multiply(mx.random.uniform(0.75, 1.25, groups, mx.float32, scalesKey), baseScale);
  const biases = mx.add(mx.multiply(scales, -(levels - 1) / 2), uniform(groups, 0.1 * std, biasesKey));
  return [words, scales, biases];
}

const DTYPES = { float32: mx.float32, bfloat16: mx.bfloat16, float16: mx.float16 };

async function writeTensors(spec: FixtureSpec, tensors: PlannedTensor[], path: string, inFile: (name: string) => boolean): Promise<void> {
  const dtype = DTYPES[spec.dtype];
  const out: Record<string, mx.array> = {};
  for (const tensor of tensors) {
    if (!outputNames(spec, tensor).some(inFile)) {
      continue;
    }
    const q = quantizationOf(spec, tensor);
    const produced: Array<[string, mx.array]> = [];
    if (!q) {
      produced.push([tensor.name, floatTensor(spec, tensor).astype(dtype)]);
    } else {
      const module = tensor.name.replace(/\.weight$/, '');
      const [words, scales, biases] = quantizedTensor(spec, tensor, q);
      produced.push([`${module}.weight`, words], [`${module}.scales`, scales.astype(dtype)], [`${module}.biases`, biases.astype(dtype)]);
    }
    for (const [name, array] of produced) {
      if (inFile(name)) {
        mx.eval(array);
        out[name] = array;
      }
    }
    // Vocabulary-sized tensors pass through here; let finalizers of the temporaries run.
    await new Promise(setImmediate);
  }
  mx.saveSafetensors(path, out, { format: 'mlx' });
}
