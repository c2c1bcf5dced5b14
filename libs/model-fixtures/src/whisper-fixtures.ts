import { core as mx } from '@frost-beta/mlx';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WHISPER_TOKENIZER_REPOS } from '@mlx-omni/model-families';
import { exists, repoFolderName, snapshotDir, writeRef, writeSnapshot, type SnapshotFile } from './hub-cache';
import { saveNpz } from './npz-writer';
import { packedQuantizedTensor, tensorSeed, uniform } from './random-tensors';
import { FIXTURE_ORG } from './specs';
import { whisperTokenizerFiles } from './whisper-tokenizer';

/** mlx_whisper's ModelDimensions, as its config.json spells them. */
export interface WhisperDims {
  n_mels: number;
  n_audio_ctx: number;
  n_audio_state: number;
  n_audio_head: number;
  n_audio_layer: number;
  n_vocab: number;
  n_text_ctx: number;
  n_text_state: number;
  n_text_head: number;
  n_text_layer: number;
}

export interface WhisperFixtureSpec {
  id: string;
  dims: WhisperDims;
  /** Storage dtype of the float tensors. */
  dtype: 'float16' | 'float32';
  /** The three names mlx-community repos use. */
  weightsFile: 'model.safetensors' | 'weights.safetensors' | 'weights.npz';
  quantization?: { groupSize: number; bits: number };
  /** Stored as the int64 `alignment_heads` tensor mlx_whisper's converter writes; absent: the model's default heads. */
  alignmentHeads?: Array<[number, number]>;
  seed: number;
}

const GENERATOR_VERSION = 2;

/** Tiny models: the real audio context (1,500 positions, 30 s windows) and vocabularies, small widths and text context. */
export const WHISPER_FIXTURE_SPECS: readonly WhisperFixtureSpec[] = [
  {
    id: `${FIXTURE_ORG}/tiny-whisper-fp16`,
    dims: { n_mels: 80, n_audio_ctx: 1500, n_audio_state: 64, n_audio_head: 4, n_audio_layer: 2, n_vocab: 51865, n_text_ctx: 128, n_text_state: 64, n_text_head: 4, n_text_layer: 2 },
    dtype: 'float16',
    weightsFile: 'model.safetensors',
    alignmentHeads: [[1, 0], [1, 2]],
    seed: 41,
  },
  {
    // The large-v3 layout (128 mel bins, 100 languages), 4-bit, in the older weights.npz packaging.
    id: `${FIXTURE_ORG}/tiny-whisper-v3-4bit`,
    dims: { n_mels: 128, n_audio_ctx: 1500, n_audio_state: 128, n_audio_head: 2, n_audio_layer: 2, n_vocab: 51866, n_text_ctx: 96, n_text_state: 128, n_text_head: 2, n_text_layer: 2 },
    dtype: 'float16',
    weightsFile: 'weights.npz',
    quantization: { groupSize: 64, bits: 4 },
    seed: 42,
  },
];

/** Whisper tiny's sizes (39M parameters) for `npm run bench:transcription`. */
export const WHISPER_BENCH_FIXTURE_SPEC: WhisperFixtureSpec = {
  id: `${FIXTURE_ORG}/bench-whisper-tiny`,
  dims: { n_mels: 80, n_audio_ctx: 1500, n_audio_state: 384, n_audio_head: 6, n_audio_layer: 4, n_vocab: 51865, n_text_ctx: 448, n_text_state: 384, n_text_head: 6, n_text_layer: 4 },
  dtype: 'float16',
  weightsFile: 'weights.safetensors',
  seed: 43,
};

const ALL_WHISPER_SPECS = [...WHISPER_FIXTURE_SPECS, WHISPER_BENCH_FIXTURE_SPEC];

type Role = 'linear' | 'embedding' | 'conv' | 'norm' | 'bias' | 'position';

interface WhisperTensor {
  name: string;
  shape: number[];
  role: Role;
}

/** The tensors of an mlx_whisper checkpoint, named and shaped as its converter writes them. */
export function whisperTensorLayout(dims: WhisperDims): WhisperTensor[] {
  const tensors: WhisperTensor[] = [];
  const add = (name: string, shape: number[], role: Role) => tensors.push({ name, shape, role });
  const linear = (name: string, inFeatures: number, outFeatures: number, bias: boolean) => {
    add(`${name}.weight`, [outFeatures, inFeatures], 'linear');
    if (bias) {
      add(`${name}.bias`, [outFeatures], 'bias');
    }
  };
  const layerNorm = (name: string, dim: number) => {
    add(`${name}.weight`, [dim], 'norm');
    add(`${name}.bias`, [dim], 'bias');
  };
  const block = (path: string, state: number, cross: boolean) => {
    for (const attention of cross ? ['attn', 'cross_attn'] : ['attn']) {
      linear(`${path}.${attention}.query`, state, state, true);
      linear(`${path}.${attention}.key`, state, state, false);
      linear(`${path}.${attention}.value`, state, state, true);
      linear(`${path}.${attention}.out`, state, state, true);
      layerNorm(`${path}.${attention}_ln`, state);
    }
    linear(`${path}.mlp1`, state, 4 * state, true);
    linear(`${path}.mlp2`, 4 * state, state, true);
    layerNorm(`${path}.mlp_ln`, state);
  };
  add('encoder.conv1.weight', [dims.n_audio_state, 3, dims.n_mels], 'conv');
  add('encoder.conv1.bias', [dims.n_audio_state], 'bias');
  add('encoder.conv2.weight', [dims.n_audio_state, 3, dims.n_audio_state], 'conv');
  add('encoder.conv2.bias', [dims.n_audio_state], 'bias');
  for (let i = 0; i < dims.n_audio_layer; i++) {
    block(`encoder.blocks.${i}`, dims.n_audio_state, false);
  }
  layerNorm('encoder.ln_post', dims.n_audio_state);
  add('decoder.token_embedding.weight', [dims.n_vocab, dims.n_text_state], 'embedding');
  add('decoder.positional_embedding', [dims.n_text_ctx, dims.n_text_state], 'position');
  for (let i = 0; i < dims.n_text_layer; i++) {
    block(`decoder.blocks.${i}`, dims.n_text_state, true);
  }
  layerNorm('decoder.ln', dims.n_text_state);
  return tensors;
}

/**
 * Spreads that keep activations O(1) through the blocks and give the output logits a standard
 * deviation of about 2, where text and the timestamps' summed probability (which a spread below
 * about 2.2 always lets win, one above always lose) both get their turns.
 */
function valueStd(tensor: WhisperTensor): number {
  const fanIn = tensor.shape.slice(1).reduce((n, d) => n * d, 1);
  switch (tensor.role) {
    case 'linear':
    case 'conv':
      return 1 / Math.sqrt(fanIn);
    case 'embedding':
      return 2 / Math.sqrt(tensor.shape[1]);
    case 'position':
      return 0.5;
    case 'norm':
    case 'bias':
      return 0.1;
  }
}

export function whisperFixtureRevision(spec: WhisperFixtureSpec): string {
  return createHash('sha1').update(`whisper ${GENERATOR_VERSION}\n${JSON.stringify(spec)}`).digest('hex');
}

function tokenizerRevision(vocabSize: number): string {
  return createHash('sha1').update(`whisper-tokenizer ${GENERATOR_VERSION}\n${vocabSize}`).digest('hex');
}

function weightArrays(spec: WhisperFixtureSpec): Record<string, mx.array> {
  const dtype = spec.dtype === 'float16' ? mx.float16 : mx.float32;
  const arrays: Record<string, mx.array> = {};
  for (const tensor of whisperTensorLayout(spec.dims)) {
    const module = tensor.name.replace(/\.weight$/, '');
    const std = valueStd(tensor);
    const q = spec.quantization;
    if (q && (tensor.role === 'linear' || tensor.role === 'embedding') && tensor.shape[1] % q.groupSize === 0) {
      const [words, scales, biases] = packedQuantizedTensor(spec.seed, tensor.name, tensor.shape, std, q);
      arrays[`${module}.weight`] = words;
      arrays[`${module}.scales`] = scales.astype(dtype);
      arrays[`${module}.biases`] = biases.astype(dtype);
      continue;
    }
    const values = uniform(tensor.shape, std, mx.random.key(tensorSeed(spec.seed, tensor.name)));
    arrays[tensor.name] = (tensor.role === 'norm' ? mx.add(values, 1) : values).astype(dtype);
  }
  if (spec.alignmentHeads) {
    arrays['alignment_heads'] = mx.array(spec.alignmentHeads, mx.int64);
  }
  mx.eval(...Object.values(arrays));
  return arrays;
}

async function writeWhisperFixture(hubCacheDir: string, spec: WhisperFixtureSpec, revision: string): Promise<void> {
  const config: Record<string, unknown> = { ...spec.dims, model_type: 'whisper' };
  if (spec.quantization) {
    config['quantization'] = { group_size: spec.quantization.groupSize, bits: spec.quantization.bits };
  }
  const weights: SnapshotFile = {
    name: spec.weightsFile,
    write: async (path) => {
      const arrays = weightArrays(spec);
      if (spec.weightsFile === 'weights.npz') {
        await saveNpz(path, arrays);
      } else {
        mx.saveSafetensors(path, arrays, { format: 'mlx' });
      }
    },
  };
  await writeSnapshot(hubCacheDir, spec.id, revision, [{ name: 'config.json', content: Buffer.from(JSON.stringify(config, null, 4)) }, weights]);
}

/**
 * The tokenizer-only snapshot of the openai/whisper-* repo a vocabulary size takes its tokenizer
 * from, as pulling just those files leaves it. A cache that already has that repo under another
 * revision (the real one, on a user's machine) is left alone.
 */
async function ensureTokenizerRepo(hubCacheDir: string, vocabSize: number): Promise<void> {
  const repo = WHISPER_TOKENIZER_REPOS[vocabSize];
  const revision = tokenizerRevision(vocabSize);
  const repoDir = join(hubCacheDir, repoFolderName(repo));
  const main = (await readFile(join(repoDir, 'refs', 'main'), 'utf8').catch(() => '')).trim();
  if (main !== '' && main !== revision && (await exists(join(repoDir, 'snapshots', main, 'tokenizer.json')))) {
    return;
  }
  if (await exists(join(snapshotDir(hubCacheDir, repo, revision), 'tokenizer.json'))) {
    await writeRef(repoDir, revision);
    return;
  }
  const files = Object.entries(whisperTokenizerFiles(vocabSize)).map(([name, content]) => ({ name, content }));
  await writeSnapshot(hubCacheDir, repo, revision, files);
}

/**
 * Makes sure the Whisper fixtures (default: the tiny ones) and the tokenizer repos they need are in
 * `hubCacheDir`; returns each fixture's snapshot folder.
 */
export async function ensureWhisperFixtures(hubCacheDir: string, ids?: string[]): Promise<Map<string, string>> {
  const specs = ids
    ? ids.map((id) => {
        const spec = ALL_WHISPER_SPECS.find((candidate) => candidate.id === id);
        if (spec === undefined) {
          throw new Error(`Unknown Whisper fixture "${id}"; known: ${ALL_WHISPER_SPECS.map((s) => s.id).join(', ')}`);
        }
        return spec;
      })
    : [...WHISPER_FIXTURE_SPECS];
  const dirs = new Map<string, string>();
  for (const vocabSize of new Set(specs.map((spec) => spec.dims.n_vocab))) {
    await ensureTokenizerRepo(hubCacheDir, vocabSize);
  }
  for (const spec of specs) {
    const revision = whisperFixtureRevision(spec);
    const dir = snapshotDir(hubCacheDir, spec.id, revision);
    if (await exists(join(dir, 'config.json'))) {
      await writeRef(join(hubCacheDir, repoFolderName(spec.id)), revision);
    } else {
      await writeWhisperFixture(hubCacheDir, spec, revision);
    }
    dirs.set(spec.id, dir);
  }
  return dirs;
}
