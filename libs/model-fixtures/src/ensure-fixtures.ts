import { core as mx } from '@frost-beta/mlx';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { exists, repoFolderName, snapshotDir, writeRef, writeSnapshot, type SnapshotFile } from './hub-cache';
import { ALL_FIXTURE_SPECS, FIXTURE_SPECS, type FixtureSpec } from './specs';
import { tensorLayout, textConfigOf, type PlannedTensor } from './tensor-layout';
import { packedQuantizedTensor, randomWords, tensorSeed, uniform } from './random-tensors';
import { tokenizerFiles } from './tokenizer-files';

/** Bump when the generator's output changes for the same spec: revisions (and so caches) change with it. */
const GENERATOR_VERSION = 4;

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
 * Each spec's snapshot in the hub cache, by id: a complete one (it has `marker`, config.json unless the
 * layout has none) is kept and `refs/main` pointed back at it; a missing one is written by `write`.
 */
export async function ensureSnapshots<S extends { id: string }>(
  hubCacheDir: string,
  specs: readonly S[],
  revisionOf: (spec: S) => string,
  write: (hubCacheDir: string, spec: S, revision: string) => Promise<void>,
  marker = 'config.json',
): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const spec of specs) {
    const revision = revisionOf(spec);
    const dir = snapshotDir(hubCacheDir, spec.id, revision);
    if (await exists(join(dir, marker))) {
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
    ...(spec.generationConfig ? [{ name: 'generation_config.json', content: json(spec.generationConfig) }] : []),
    ...Object.entries(await tokenizerFiles(spec)).map(([name, content]) => ({ name, content })),
    ...Object.entries(sentenceTransformersFiles(spec)).map(([name, value]) => ({ name, content: json(value) })),
    ...weightFiles(spec),
  ];
  await writeSnapshot(hubCacheDir, spec.id, revision, files);
}

const POOLING_FLAGS = {
  cls: 'pooling_mode_cls_token',
  mean: 'pooling_mode_mean_tokens',
  max: 'pooling_mode_max_tokens',
  mean_sqrt_len: 'pooling_mode_mean_sqrt_len_tokens',
  weightedmean: 'pooling_mode_weightedmean_tokens',
  lasttoken: 'pooling_mode_lasttoken',
};

/** modules.json and the module files as sentence-transformers saves them (Normalize has no config, so no folder). */
function sentenceTransformersFiles(spec: FixtureSpec): Record<string, unknown> {
  const packaging = spec.sentenceTransformers;
  if (!packaging) {
    return {};
  }
  const modules: Array<{ idx: number; name: string; path: string; type: string }> = [];
  const add = (path: string, type: string) => modules.push({ idx: modules.length, name: String(modules.length), path, type });
  const files: Record<string, unknown> = {};
  add('', 'sentence_transformers.models.Transformer');
  if (packaging.pooling) {
    add(`${modules.length}_Pooling`, 'sentence_transformers.models.Pooling');
    files[`${modules.length - 1}_Pooling/config.json`] = {
      word_embedding_dimension: textConfigOf(spec)['hidden_size'],
      ...Object.fromEntries(Object.entries(POOLING_FLAGS).map(([mode, flag]) => [flag, mode === packaging.pooling])),
      include_prompt: true,
    };
  }
  if (packaging.normalize) {
    add(`${modules.length}_Normalize`, 'sentence_transformers.models.Normalize');
  }
  if (packaging.logitScore) {
    add(`${modules.length}_LogitScore`, 'sentence_transformers.cross_encoder.modules.logit_score.LogitScore');
    files[`${modules.length - 1}_LogitScore/config.json`] = { ...packaging.logitScore, module_input_name: 'causal_logits' };
  }
  files['modules.json'] = modules;
  if (packaging.maxSeqLength !== undefined) {
    files['sentence_bert_config.json'] = { max_seq_length: packaging.maxSeqLength, do_lower_case: false };
  }
  files['config_sentence_transformers.json'] = {
    __version__: { sentence_transformers: '5.4.0', transformers: '4.56.0', pytorch: '2.8.0' },
    ...(packaging.logitScore ? { model_type: 'CrossEncoder', activation_fn: 'torch.nn.modules.linear.Identity' } : { model_type: 'SentenceTransformer', similarity_fn_name: 'cosine' }),
    prompts: packaging.prompts ?? {},
    default_prompt_name: packaging.defaultPromptName ?? null,
  };
  return files;
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
  if (tensor.role === 'position-ids') {
    return elements * 8;
  }
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
    case 'position-ids':
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
    if (tensor.role === 'position-ids') {
      // transformers' registered buffer: 0, 1, …, max_position_embeddings − 1 as int64.
      produced.push([tensor.name, mx.arange(0, tensor.shape[1], 1, mx.int64).reshape(tensor.shape)]);
    } else if (!q) {
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
