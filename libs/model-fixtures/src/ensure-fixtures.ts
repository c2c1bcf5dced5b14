import { core as mx } from '@frost-beta/mlx';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { exists, repoFolderName, snapshotDir, writeRef, writeSnapshot, type SnapshotFile } from './hub-cache';
import { ALL_FIXTURE_SPECS, FIXTURE_SPECS, type FixtureSpec } from './specs';
import { tensorLayout, type PlannedTensor } from './tensor-layout';
import { packedQuantizedTensor, randomWords, tensorSeed, uniform } from './random-tensors';
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
  const specs = ids ? ids.map(findSpec) : [...FIXTURE_SPECS];
  const dirs = new Map<string, string>();
  for (const spec of specs) {
    const revision = fixtureRevision(spec);
    const dir = snapshotDir(hubCacheDir, spec.id, revision);
    if (await exists(join(dir, 'config.json'))) {
      await writeRef(join(hubCacheDir, repoFolderName(spec.id)), revision);
    } else {
      await writeFixture(hubCacheDir, spec, revision);
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

interface TensorQuantization {
  groupSize: number;
  bits: number;
  mode: 'affine' | 'mxfp4';
}

function quantizationOf(spec: FixtureSpec, tensor: PlannedTensor): TensorQuantization | undefined {
  const q = spec.quantization;
  if (!q || (tensor.role !== 'linear' && tensor.role !== 'embedding')) {
    return undefined;
  }
  const module = tensor.name.replace(/\.weight$/, '');
  const override = q.overrides?.[module];
  if (override === false) {
    return undefined;
  }
  return override
    ? { groupSize: override.group_size, bits: override.bits, mode: override.mode ?? 'affine' }
    : { groupSize: q.groupSize, bits: q.bits, mode: 'affine' };
}

const DTYPE_BYTES = { float32: 4, bfloat16: 2, float16: 2 };

/** Bytes a planned tensor takes on disk: packed words plus scales and biases when quantized. */
function storedBytes(spec: FixtureSpec, tensor: PlannedTensor): number {
  const elements = tensor.shape.reduce((n, d) => n * d, 1);
  const q = quantizationOf(spec, tensor);
  if (!q) {
    return elements * DTYPE_BYTES[spec.dtype];
  }
  if (q.mode === 'mxfp4') {
    return elements / 2 + elements / q.groupSize;
  }
  return (elements * q.bits) / 8 + 2 * (elements / q.groupSize) * DTYPE_BYTES[spec.dtype];
}

function outputNames(spec: FixtureSpec, tensor: PlannedTensor): string[] {
  if (!quantizationOf(spec, tensor)) {
    return [tensor.name];
  }
  const module = tensor.name.replace(/\.weight$/, '');
  return quantizationOf(spec, tensor)?.mode === 'mxfp4'
    ? [`${module}.weight`, `${module}.scales`]
    : [`${module}.weight`, `${module}.scales`, `${module}.biases`];
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
    case 'router':
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

/**
 * MXFP4 as mlx-community stores gpt-oss's experts: eight E2M1 codes per uint32 word and one E8M0
 * exponent byte per 32 values, picked so the values have the role's spread (E2M1 codes over
 * [-6, 6] have a standard deviation of about 3).
 */
function mxfp4Tensor(spec: FixtureSpec, tensor: PlannedTensor): [mx.array, mx.array] {
  const [highKey, lowKey, scalesKey] = [0, 1, 2].map((i) => mx.random.key(tensorSeed(spec.seed, `${tensor.name}#${i}`)));
  const lead = tensor.shape.slice(0, -1);
  const width = tensor.shape[tensor.shape.length - 1];
  const words = randomWords([...lead, width / 8], highKey, lowKey);
  const exponent = 127 + Math.round(Math.log2(valueStd(tensor) / 3));
  const scales = mx.random.randint(exponent - 1, exponent + 2, [...lead, width / 32], mx.int32, scalesKey).astype(mx.uint8);
  return [words, scales];
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
    } else if (q.mode === 'mxfp4') {
      const module = tensor.name.replace(/\.weight$/, '');
      const [words, scales] = mxfp4Tensor(spec, tensor);
      produced.push([`${module}.weight`, words], [`${module}.scales`, scales]);
    } else {
      const module = tensor.name.replace(/\.weight$/, '');
      const [words, scales, biases] = packedQuantizedTensor(spec.seed, tensor.name, tensor.shape, valueStd(tensor), q);
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
