import { core as mx } from '@frost-beta/mlx';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { F5_VOCODER_REPO } from '@mlx-omni/model-families';
import { ensureSnapshots } from './ensure-fixtures';
import { exists, repoFolderName, snapshotDir, writeRef, writeSnapshot, type SnapshotFile } from './hub-cache';
import { packedQuantizedTensor, tensorSeed, uniform } from './random-tensors';
import { FIXTURE_ORG, type FixtureQuantization } from './specs';

/** A DiT-like transformer of F5's: the flow-matching DiT, or the duration model's pre-norm transformer. */
export interface F5TransformerDims {
  dim: number;
  depth: number;
  heads: number;
  headDim: number;
  ffMult: number;
  textDim: number;
  /** ConvNeXt V2 blocks of the text encoder (their hidden width is textDim · 2). */
  convLayers: number;
}

export interface F5FixtureSpec {
  id: string;
  /**
   * `pytorch`: SWivid's checkpoint as model_v1.safetensors ships it (ema_model.-prefixed, PyTorch layouts,
   * the EMA counters and the training mel buffers included). `mlx`: f5-tts-mlx's quantized conversion
   * (model_v1_<bits>b.safetensors: MLX module names and layouts, Linear layers whose input width divides by 64
   * MLX-affine quantized).
   */
  naming: 'pytorch' | 'mlx';
  dit: F5TransformerDims;
  /** duration_v2.safetensors, when the fixture has one (MLX names: trained with f5-tts-mlx). */
  duration?: F5TransformerDims;
  quantization?: FixtureQuantization;
  /** vocab.txt's lines. */
  vocabulary: readonly string[];
  seed: number;
}

/** Sizes fixed by F5-TTS's code rather than by a configuration: 100 mel bins, 256 timestep features, the position convolutions. */
const MELS = 100;
const TIME_FEATURES = 256;
const POSITION_KERNEL = 31;
const POSITION_GROUPS = 16;

/** The start of the Emilia vocabulary F5 v1 ships (printable ASCII) and a few of its pinyin and CJK punctuation tokens. */
const FIXTURE_VOCABULARY: readonly string[] = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
  'a1',
  'ai2',
  'ba4',
  '，',
  '。',
];

const TINY_DIT: F5TransformerDims = { dim: 64, depth: 2, heads: 2, headDim: 32, ffMult: 2, textDim: 64, convLayers: 2 };
const TINY_DURATION: F5TransformerDims = { dim: 64, depth: 2, heads: 2, headDim: 32, ffMult: 2, textDim: 64, convLayers: 1 };

export const F5_FIXTURE_SPECS: readonly F5FixtureSpec[] = [
  { id: `${FIXTURE_ORG}/tiny-f5-tts-fp32`, naming: 'pytorch', dit: TINY_DIT, duration: TINY_DURATION, vocabulary: FIXTURE_VOCABULARY, seed: 51 },
  { id: `${FIXTURE_ORG}/tiny-f5-tts-4bit`, naming: 'mlx', dit: TINY_DIT, quantization: { groupSize: 64, bits: 4 }, vocabulary: FIXTURE_VOCABULARY, seed: 52 },
];

/**
 * F5 at a small size for `npm run bench:speech` (a quarter of F5-Base's width, 8 of its 22 blocks). No
 * duration model: with random weights it would give any length, where the reference's rate of speech
 * gives the length trained speech would have.
 */
export const F5_BENCH_SPEC: F5FixtureSpec = {
  id: `${FIXTURE_ORG}/bench-f5-tts-small`,
  naming: 'pytorch',
  dit: { dim: 256, depth: 8, heads: 4, headDim: 64, ffMult: 2, textDim: 256, convLayers: 4 },
  vocabulary: FIXTURE_VOCABULARY,
  seed: 53,
};

const ALL_F5_SPECS: readonly F5FixtureSpec[] = [...F5_FIXTURE_SPECS, F5_BENCH_SPEC];

/** lucasnewman/vocos-mel-24khz at its real size (charactr's Vocos: 512 wide, 8 ConvNeXt blocks), random weights. */
export const VOCOS_FIXTURE = { dim: 512, intermediate: 1536, layers: 8, mels: MELS, nFft: 1024, hop: 256, sampleRate: 24000, seed: 54 } as const;

type Role = { kind: 'uniform'; std: number; offset?: number } | { kind: 'linear'; gain: number } | { kind: 'constant'; values: (shape: number[]) => mx.array };

interface PlannedTensor {
  /** The PyTorch module path (SWivid's, `nn.Sequential` children numbered directly). */
  name: string;
  shape: number[];
  role: Role;
  /** A Linear weight (quantized in the converted checkpoint when its input width divides by the group size). */
  linear?: boolean;
  /** A Conv1d weight, PyTorch [out, in/groups, kernel]. */
  conv?: boolean;
}

const uniformRole = (std: number, offset?: number): Role => ({ kind: 'uniform', std, offset });

/** x-transformers' RotaryEmbedding buffer: 10000^(−2i/d). */
const inverseFrequencies = (headDim: number): Role => ({
  kind: 'constant',
  values: () => mx.array(Array.from({ length: headDim / 2 }, (_, i) => 10000 ** ((-2 * i) / headDim)), mx.float32),
});

/**
 * A transformer of F5's with SWivid's module names (f5_tts/model/backbones/dit.py, modules.py), under
 * `transformer.`: the text encoder and convolutional position embedding both share, then the DiT's or the
 * duration model's own layers. Written from upstream, not from the engine.
 */
function transformerTensors(d: F5TransformerDims, kind: 'dit' | 'duration', textRows: number): PlannedTensor[] {
  const out: PlannedTensor[] = [];
  const linear = (name: string, inF: number, outF: number, options: { bias?: boolean; gain?: number } = {}) => {
    out.push({ name: `${name}.weight`, shape: [outF, inF], role: { kind: 'linear', gain: options.gain ?? 1 }, linear: true });
    if (options.bias ?? true) {
      out.push({ name: `${name}.bias`, shape: [outF], role: uniformRole(0.05) });
    }
  };
  const conv = (name: string, outC: number, perGroup: number, kernel: number) => {
    out.push({ name: `${name}.weight`, shape: [outC, perGroup, kernel], role: uniformRole(1 / Math.sqrt(perGroup * kernel)), conv: true });
    out.push({ name: `${name}.bias`, shape: [outC], role: uniformRole(0.05) });
  };
  const norm = (name: string, dim: number) => {
    out.push({ name: `${name}.weight`, shape: [dim], role: uniformRole(0.1, 1) }, { name: `${name}.bias`, shape: [dim], role: uniformRole(0.05) });
  };
  const t = 'transformer';
  const inner = 2 * d.textDim;
  out.push({ name: `${t}.text_embed.text_embed.weight`, shape: [textRows, d.textDim], role: uniformRole(1) });
  for (let i = 0; i < d.convLayers; i++) {
    const block = `${t}.text_embed.text_blocks.${i}`;
    conv(`${block}.dwconv`, d.textDim, 1, 7);
    norm(`${block}.norm`, d.textDim);
    linear(`${block}.pwconv1`, d.textDim, inner);
    out.push({ name: `${block}.grn.gamma`, shape: [1, 1, inner], role: uniformRole(0.1) }, { name: `${block}.grn.beta`, shape: [1, 1, inner], role: uniformRole(0.1) });
    linear(`${block}.pwconv2`, inner, d.textDim, { gain: 0.5 });
  }
  const inputWidth = kind === 'dit' ? 2 * MELS + d.textDim : MELS + d.textDim;
  linear(`${t}.input_embed.proj`, inputWidth, d.dim);
  conv(`${t}.input_embed.conv_pos_embed.conv1d.0`, d.dim, d.dim / POSITION_GROUPS, POSITION_KERNEL);
  conv(`${t}.input_embed.conv_pos_embed.conv1d.2`, d.dim, d.dim / POSITION_GROUPS, POSITION_KERNEL);
  out.push({ name: `${t}.rotary_embed.inv_freq`, shape: [d.headDim / 2], role: inverseFrequencies(d.headDim) });
  const attentionWidth = d.heads * d.headDim;
  for (let i = 0; i < d.depth; i++) {
    const block = `${t}.transformer_blocks.${i}`;
    if (kind === 'dit') {
      linear(`${block}.attn_norm.linear`, d.dim, 6 * d.dim, { gain: 0.5 });
    }
    for (const projection of ['to_q', 'to_k', 'to_v']) {
      linear(`${block}.attn.${projection}`, d.dim, attentionWidth);
    }
    linear(`${block}.attn.to_out.0`, attentionWidth, d.dim);
    linear(`${block}.ff.ff.0.0`, d.dim, d.dim * d.ffMult);
    linear(`${block}.ff.ff.2`, d.dim * d.ffMult, d.dim);
  }
  if (kind === 'dit') {
    linear(`${t}.time_embed.time_mlp.0`, TIME_FEATURES, d.dim);
    linear(`${t}.time_embed.time_mlp.2`, d.dim, d.dim);
    linear(`${t}.norm_out.linear`, d.dim, 2 * d.dim, { gain: 0.5 });
    linear(`${t}.proj_out`, d.dim, MELS);
  } else {
    out.push({ name: `${t}.norm_out.weight`, shape: [d.dim], role: uniformRole(0.1, 1) });
    linear('to_pred.0', d.dim, 1, { bias: false, gain: 2 });
  }
  return out;
}

/**
 * f5-tts-mlx's MLX name for a SWivid module path (its from_pretrained conversion, reversed): nn.Sequential
 * children sit under `.layers`, and the `ema_model.` wrapper is gone.
 */
function mlxName(name: string): string {
  return name
    .replace('.ff.ff.0.0', '.ff.ff.layers.0.layers.0')
    .replace('.ff.ff.2', '.ff.ff.layers.2')
    .replace(/\.(to_out|text_blocks|time_mlp|conv1d|to_pred)\.(\d+)/, '.$1.layers.$2')
    .replace(/^to_pred\.(\d+)/, 'to_pred.layers.$1');
}

/** How a checkpoint stores the planned tensors: under which names, convolutions in MLX's layout or PyTorch's, which Linear layers quantized. */
interface Storage {
  name: (module: string) => string;
  mlxLayout: boolean;
  quantization?: FixtureQuantization;
}

const SWIVID_STORAGE: Storage = { name: (module) => `ema_model.${module}`, mlxLayout: false };
const MLX_STORAGE: Storage = { name: mlxName, mlxLayout: true };
const PLAIN_STORAGE: Storage = { name: (module) => module, mlxLayout: false };

/** Draws one planned tensor as `storage` keeps it. */
function drawTensors(tensor: PlannedTensor, seed: number, storage: Storage): Array<[string, mx.array]> {
  const name = storage.name(tensor.name);
  const std = tensor.role.kind === 'linear' ? tensor.role.gain / Math.sqrt(tensor.shape[1]) : tensor.role.kind === 'uniform' ? tensor.role.std : 0;
  const q = storage.quantization;
  if (q && tensor.linear && tensor.shape[1] % q.groupSize === 0) {
    const module = name.replace(/\.weight$/, '');
    const [words, scales, biases] = packedQuantizedTensor(seed, tensor.name, tensor.shape, std, q);
    return [[`${module}.weight`, words], [`${module}.scales`, scales], [`${module}.biases`, biases]];
  }
  let values: mx.array;
  if (tensor.role.kind === 'constant') {
    values = tensor.role.values(tensor.shape);
  } else {
    values = uniform(tensor.shape, std, mx.random.key(tensorSeed(seed, tensor.name)));
    if (tensor.role.kind === 'uniform' && tensor.role.offset !== undefined) {
      values = mx.add(values, tensor.role.offset);
    }
  }
  return [[name, storage.mlxLayout && tensor.conv ? values.transpose(0, 2, 1) : values]];
}

async function saveTensors(path: string, planned: readonly PlannedTensor[], seed: number, storage: Storage, extra: Record<string, mx.array> = {}): Promise<void> {
  const arrays: Record<string, mx.array> = { ...extra };
  for (const tensor of planned) {
    for (const [name, array] of drawTensors(tensor, seed, storage)) {
      mx.eval(array);
      arrays[name] = array;
    }
    await new Promise(setImmediate);
  }
  mx.saveSafetensors(path, arrays, { format: storage.mlxLayout ? 'mlx' : 'pt' });
}

/** The buffers SWivid's checkpoint carries besides the transformer: the EMA wrapper's counters and the training mel front end's. */
function pytorchExtras(): Record<string, mx.array> {
  return {
    initted: mx.array(true),
    step: mx.array(1250000, mx.int64),
    'ema_model.mel_spec.mel_stft.spectrogram.window': mx.ones([VOCOS_FIXTURE.nFft]),
    'ema_model.mel_spec.mel_stft.mel_scale.fb': mx.zeros([VOCOS_FIXTURE.nFft / 2 + 1, MELS]),
  };
}

const GENERATOR_VERSION = 1;

export function f5FixtureRevision(spec: F5FixtureSpec): string {
  return createHash('sha1').update(`f5 ${GENERATOR_VERSION}\n${JSON.stringify(spec)}`).digest('hex');
}

/** The checkpoint's file name: model_v1.safetensors, or model_v1_<bits>b.safetensors for a quantized conversion. */
export function f5WeightsFile(spec: F5FixtureSpec): string {
  return spec.quantization ? `model_v1_${spec.quantization.bits}b.safetensors` : 'model_v1.safetensors';
}

async function writeF5Fixture(hubCacheDir: string, spec: F5FixtureSpec, revision: string): Promise<void> {
  const textRows = spec.vocabulary.length + 1;
  const files: SnapshotFile[] = [
    { name: 'vocab.txt', content: Buffer.from(`${spec.vocabulary.join('\n')}\n`) },
    {
      name: f5WeightsFile(spec),
      write: (path) =>
        spec.naming === 'pytorch'
          ? saveTensors(path, transformerTensors(spec.dit, 'dit', textRows), spec.seed, SWIVID_STORAGE, pytorchExtras())
          : saveTensors(path, transformerTensors(spec.dit, 'dit', textRows), spec.seed, { ...MLX_STORAGE, quantization: spec.quantization }),
    },
  ];
  const duration = spec.duration;
  if (duration) {
    files.push({ name: 'duration_v2.safetensors', write: (path) => saveTensors(path, transformerTensors(duration, 'duration', textRows), spec.seed + 1000, MLX_STORAGE) });
  }
  await writeSnapshot(hubCacheDir, spec.id, revision, files);
}

/** Vocos's config.yaml as the repo has it (a Lightning CLI config). */
function vocosConfig(): string {
  const v = VOCOS_FIXTURE;
  return [
    'feature_extractor:',
    '  class_path: vocos.feature_extractors.MelSpectrogramFeatures',
    '  init_args:',
    `    sample_rate: ${v.sampleRate}`,
    `    n_fft: ${v.nFft}`,
    `    hop_length: ${v.hop}`,
    `    n_mels: ${v.mels}`,
    '    padding: center',
    '',
    'backbone:',
    '  class_path: vocos.models.VocosBackbone',
    '  init_args:',
    `    input_channels: ${v.mels}`,
    `    dim: ${v.dim}`,
    `    intermediate_dim: ${v.intermediate}`,
    `    num_layers: ${v.layers}`,
    '',
    'head:',
    '  class_path: vocos.heads.ISTFTHead',
    '  init_args:',
    `    dim: ${v.dim}`,
    `    n_fft: ${v.nFft}`,
    `    hop_length: ${v.hop}`,
    '    padding: center',
    '',
  ].join('\n');
}

/**
 * Vocos's tensors as charactr's checkpoint names them (vocos/models.py, heads.py), buffers included. The
 * head's log-magnitude rows are biased to −2, as a trained vocoder's are mostly below zero, so the
 * random waveform stays well within [-1, 1].
 */
function vocosTensors(): PlannedTensor[] {
  const v = VOCOS_FIXTURE;
  const bins = v.nFft / 2 + 1;
  const out: PlannedTensor[] = [];
  const norm = (name: string) => out.push({ name: `${name}.weight`, shape: [v.dim], role: uniformRole(0.1, 1) }, { name: `${name}.bias`, shape: [v.dim], role: uniformRole(0.05) });
  out.push({ name: 'backbone.embed.weight', shape: [v.dim, v.mels, 7], role: uniformRole(1 / Math.sqrt(v.mels * 7)), conv: true });
  out.push({ name: 'backbone.embed.bias', shape: [v.dim], role: uniformRole(0.05) });
  norm('backbone.norm');
  for (let i = 0; i < v.layers; i++) {
    const block = `backbone.convnext.${i}`;
    out.push({ name: `${block}.dwconv.weight`, shape: [v.dim, 1, 7], role: uniformRole(1 / Math.sqrt(7)), conv: true });
    out.push({ name: `${block}.dwconv.bias`, shape: [v.dim], role: uniformRole(0.05) });
    norm(`${block}.norm`);
    out.push({ name: `${block}.pwconv1.weight`, shape: [v.intermediate, v.dim], role: { kind: 'linear', gain: 1 } });
    out.push({ name: `${block}.pwconv1.bias`, shape: [v.intermediate], role: uniformRole(0.05) });
    out.push({ name: `${block}.pwconv2.weight`, shape: [v.dim, v.intermediate], role: { kind: 'linear', gain: 1 } });
    out.push({ name: `${block}.pwconv2.bias`, shape: [v.dim], role: uniformRole(0.05) });
    out.push({ name: `${block}.gamma`, shape: [v.dim], role: uniformRole(0.05, 1 / v.layers) });
  }
  norm('backbone.final_layer_norm');
  out.push({ name: 'head.out.weight', shape: [2 * bins, v.dim], role: { kind: 'linear', gain: 0.5 } });
  out.push({
    name: 'head.out.bias',
    shape: [2 * bins],
    role: { kind: 'constant', values: () => mx.concatenate([mx.full([bins], -2, mx.float32), mx.zeros([bins])]) },
  });
  return out;
}

function vocosRevision(): string {
  return createHash('sha1').update(`vocos ${GENERATOR_VERSION}\n${JSON.stringify(VOCOS_FIXTURE)}`).digest('hex');
}

/**
 * The lucasnewman/vocos-mel-24khz snapshot F5 fixtures speak through, under its real repo id, as pulling
 * the model leaves it. A cache that already has that repo under another revision (the real one, on a
 * user's machine) is left alone.
 */
async function ensureVocos(hubCacheDir: string): Promise<string> {
  const revision = vocosRevision();
  const repoDir = join(hubCacheDir, repoFolderName(F5_VOCODER_REPO));
  const main = (await readFile(join(repoDir, 'refs', 'main'), 'utf8').catch(() => '')).trim();
  if (main !== '' && main !== revision && (await exists(join(repoDir, 'snapshots', main, 'model.safetensors')))) {
    return join(repoDir, 'snapshots', main);
  }
  const dir = snapshotDir(hubCacheDir, F5_VOCODER_REPO, revision);
  if (await exists(join(dir, 'model.safetensors'))) {
    await writeRef(repoDir, revision);
    return dir;
  }
  const v = VOCOS_FIXTURE;
  const buffers = { 'feature_extractor.mel_spec.spectrogram.window': mx.ones([v.nFft]), 'feature_extractor.mel_spec.mel_scale.fb': mx.zeros([v.nFft / 2 + 1, v.mels]), 'head.istft.window': mx.ones([v.nFft]) };
  return writeSnapshot(hubCacheDir, F5_VOCODER_REPO, revision, [
    { name: 'config.yaml', content: Buffer.from(vocosConfig()) },
    { name: 'model.safetensors', write: (path) => saveTensors(path, vocosTensors(), v.seed, PLAIN_STORAGE, buffers) },
  ]);
}

/**
 * Makes sure the F5-TTS fixtures (default: the tiny ones) and the Vocos repo they speak through are in
 * `hubCacheDir`; returns each fixture's snapshot folder, and the vocoder's under F5_VOCODER_REPO.
 */
export async function ensureF5Fixtures(hubCacheDir: string, ids?: string[]): Promise<Map<string, string>> {
  const specs = ids
    ? ids.map((id) => {
        const spec = ALL_F5_SPECS.find((candidate) => candidate.id === id);
        if (spec === undefined) {
          throw new Error(`Unknown F5-TTS fixture "${id}"; known: ${ALL_F5_SPECS.map((s) => s.id).join(', ')}`);
        }
        return spec;
      })
    : F5_FIXTURE_SPECS;
  const vocos = await ensureVocos(hubCacheDir);
  const dirs = await ensureSnapshots(hubCacheDir, specs, f5FixtureRevision, writeF5Fixture, 'vocab.txt');
  return new Map([...dirs, [F5_VOCODER_REPO, vocos]]);
}
