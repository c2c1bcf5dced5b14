import { core as mx } from '@frost-beta/mlx';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { clipTokenizerConfigFiles, clipVocabularyFiles, t5TokenizerFiles, t5VocabularySize } from './flux-tokenizer-files';
import { packedQuantizedTensor, tensorSeed, uniform } from './random-tensors';
import { exists, repoFolderName, snapshotDir, writeRef, writeSnapshot, type SnapshotFile } from './hub-cache';
import { FIXTURE_ORG } from './specs';

/** Dimensions of a FLUX fixture, as FLUX.1's configs name them (real FLUX.1 in the comments). */
export interface FluxFixtureDims {
  heads: number; // 24
  headDim: number; // 128
  doubleBlocks: number; // 19
  singleBlocks: number; // 38
  latentChannels: number; // 16
  vaeChannels: number[]; // [128, 256, 512, 512]
  vaeLayersPerBlock: number; // 2
  vaeGroups: number; // 32
  clip: { hidden: number; heads: number; layers: number; intermediate: number }; // 768, 12, 12, 3072
  t5: { dModel: number; heads: number; dKv: number; dFf: number; layers: number }; // 4096, 64, 64, 10240, 24
  clipMerges: number;
}

export type FluxFixtureLayout = 'diffusers' | 'mflux' | 'diffusionkit';

export interface FluxFixtureSpec {
  id: string;
  layout: FluxFixtureLayout;
  variant: 'schnell' | 'dev';
  dtype: 'float32' | 'bfloat16' | 'float16';
  /** mflux's MLX affine quantization of every linear and embedding whose rows split into groups. */
  quantization?: { bits: number; groupSize: number };
  /** Which T5 tokenizer files to write (older mflux saves have only spiece.model). */
  t5Tokenizer: { spiece: boolean; tokenizerJson: boolean };
  /** The second, BFL-format copy of the weights real diffusers snapshots carry at the top level. */
  bflCopies?: boolean;
  dims: FluxFixtureDims;
  /** Weights depend on this seed only: fixtures that share it hold the same model in different layouts. */
  seed: number;
}

/** Hidden 64 (2 heads of 32), text encoders 128/64 wide, a four-level VAE of 32-64 channels with 32 groups. */
export const TINY_FLUX_DIMS: FluxFixtureDims = {
  heads: 2,
  headDim: 32,
  doubleBlocks: 2,
  singleBlocks: 2,
  latentChannels: 16,
  vaeChannels: [32, 32, 64, 64],
  vaeLayersPerBlock: 1,
  vaeGroups: 32,
  clip: { hidden: 128, heads: 2, layers: 2, intermediate: 256 },
  t5: { dModel: 64, heads: 2, dKv: 32, dFf: 128, layers: 2 },
  clipMerges: 300,
};

/** ~100M parameters in the transformer, for `npm run bench:images`. */
export const BENCH_FLUX_DIMS: FluxFixtureDims = {
  heads: 8,
  headDim: 64,
  doubleBlocks: 4,
  singleBlocks: 16,
  latentChannels: 16,
  vaeChannels: [64, 128, 256, 256],
  vaeLayersPerBlock: 1,
  vaeGroups: 32,
  clip: { hidden: 256, heads: 4, layers: 2, intermediate: 1024 },
  t5: { dModel: 256, heads: 4, dKv: 64, dFf: 512, layers: 2 },
  clipMerges: 300,
};

const both = { spiece: true, tokenizerJson: true };

/**
 * The tiny FLUX fixtures: schnell in all three layouts from one seed (the same weights), dev in
 * diffusers' layout, and a 4-bit mflux save with only spiece.model for T5. DiffusionKit's text
 * encoders are written as their own repos (argmaxinc/stable-diffusion, google/t5-v1_1-xxl).
 */
export const FLUX_FIXTURE_SPECS: readonly FluxFixtureSpec[] = [
  { id: `${FIXTURE_ORG}/tiny-flux-schnell`, layout: 'diffusers', variant: 'schnell', dtype: 'bfloat16', t5Tokenizer: both, bflCopies: true, dims: TINY_FLUX_DIMS, seed: 41 },
  { id: `${FIXTURE_ORG}/tiny-flux-dev`, layout: 'diffusers', variant: 'dev', dtype: 'float32', t5Tokenizer: both, dims: { ...TINY_FLUX_DIMS, vaeGroups: 16 }, seed: 42 },
  { id: `${FIXTURE_ORG}/tiny-flux-schnell-mflux`, layout: 'mflux', variant: 'schnell', dtype: 'bfloat16', t5Tokenizer: both, dims: TINY_FLUX_DIMS, seed: 41 },
  {
    id: `${FIXTURE_ORG}/tiny-flux-schnell-mflux-4bit`,
    layout: 'mflux',
    variant: 'schnell',
    dtype: 'bfloat16',
    quantization: { bits: 4, groupSize: 64 },
    t5Tokenizer: { spiece: true, tokenizerJson: false },
    dims: TINY_FLUX_DIMS,
    seed: 43,
  },
  { id: `${FIXTURE_ORG}/tiny-mlx-flux-schnell`, layout: 'diffusionkit', variant: 'schnell', dtype: 'bfloat16', t5Tokenizer: both, dims: TINY_FLUX_DIMS, seed: 41 },
];

export const BENCH_FLUX_FIXTURE_SPEC: FluxFixtureSpec = {
  id: `${FIXTURE_ORG}/bench-flux-100m`,
  layout: 'diffusers',
  variant: 'schnell',
  dtype: 'float32',
  t5Tokenizer: both,
  dims: BENCH_FLUX_DIMS,
  seed: 400,
};

type Role = 'linear' | 'bias' | 'norm' | 'conv' | 'embedding' | 'table';

interface Planned {
  name: string;
  shape: number[];
  role: Role;
}

/** The learned vocabulary's size (the corpus may yield fewer merges than asked for). */
const clipVocabSize = (d: FluxFixtureDims) => Object.keys(JSON.parse(clipVocabularyFiles(d.clipMerges)['vocab.json'].toString('utf8')) as object).length;

/** FluxTransformer2DModel's tensors, in diffusers' names. */
function transformerTensors(spec: FluxFixtureSpec): Planned[] {
  const d = spec.dims;
  const h = d.heads * d.headDim;
  const mlp = 4 * h;
  const inChannels = d.latentChannels * 4;
  const out: Planned[] = [];
  const linear = (name: string, inF: number, outF: number) => out.push({ name: `${name}.weight`, shape: [outF, inF], role: 'linear' }, { name: `${name}.bias`, shape: [outF], role: 'bias' });
  const norm = (name: string, dim: number) => out.push({ name: `${name}.weight`, shape: [dim], role: 'norm' });
  linear('x_embedder', inChannels, h);
  linear('context_embedder', d.t5.dModel, h);
  linear('time_text_embed.timestep_embedder.linear_1', 256, h);
  linear('time_text_embed.timestep_embedder.linear_2', h, h);
  if (spec.variant === 'dev') {
    linear('time_text_embed.guidance_embedder.linear_1', 256, h);
    linear('time_text_embed.guidance_embedder.linear_2', h, h);
  }
  linear('time_text_embed.text_embedder.linear_1', d.clip.hidden, h);
  linear('time_text_embed.text_embedder.linear_2', h, h);
  for (let i = 0; i < d.doubleBlocks; i++) {
    const b = `transformer_blocks.${i}`;
    linear(`${b}.norm1.linear`, h, 6 * h);
    linear(`${b}.norm1_context.linear`, h, 6 * h);
    for (const p of ['to_q', 'to_k', 'to_v', 'add_q_proj', 'add_k_proj', 'add_v_proj']) {
      linear(`${b}.attn.${p}`, h, h);
    }
    for (const n of ['norm_q', 'norm_k', 'norm_added_q', 'norm_added_k']) {
      norm(`${b}.attn.${n}`, d.headDim);
    }
    linear(`${b}.attn.to_out.0`, h, h);
    linear(`${b}.attn.to_add_out`, h, h);
    for (const ff of ['ff', 'ff_context']) {
      linear(`${b}.${ff}.net.0.proj`, h, mlp);
      linear(`${b}.${ff}.net.2`, mlp, h);
    }
  }
  for (let i = 0; i < d.singleBlocks; i++) {
    const b = `single_transformer_blocks.${i}`;
    linear(`${b}.norm.linear`, h, 3 * h);
    for (const p of ['to_q', 'to_k', 'to_v']) {
      linear(`${b}.attn.${p}`, h, h);
    }
    norm(`${b}.attn.norm_q`, d.headDim);
    norm(`${b}.attn.norm_k`, d.headDim);
    linear(`${b}.proj_mlp`, h, mlp);
    linear(`${b}.proj_out`, h + mlp, h);
  }
  linear('norm_out.linear', h, 2 * h);
  linear('proj_out', h, inChannels);
  return out;
}

/** AutoencoderKL's decoder (and two encoder tensors the engine must skip), diffusers' names, kernels [out, in, kh, kw]. */
function vaeTensors(spec: FluxFixtureSpec): Planned[] {
  const d = spec.dims;
  const out: Planned[] = [];
  const conv = (name: string, inC: number, outC: number, k: number) =>
    out.push({ name: `${name}.weight`, shape: [outC, inC, k, k], role: 'conv' }, { name: `${name}.bias`, shape: [outC], role: 'bias' });
  const groupNorm = (name: string, c: number) => out.push({ name: `${name}.weight`, shape: [c], role: 'norm' }, { name: `${name}.bias`, shape: [c], role: 'bias' });
  const resnet = (name: string, inC: number, outC: number) => {
    groupNorm(`${name}.norm1`, inC);
    conv(`${name}.conv1`, inC, outC, 3);
    groupNorm(`${name}.norm2`, outC);
    conv(`${name}.conv2`, outC, outC, 3);
    if (inC !== outC) {
      conv(`${name}.conv_shortcut`, inC, outC, 1);
    }
  };
  const reversed = [...d.vaeChannels].reverse();
  const top = reversed[0];
  conv('encoder.conv_in', 3, d.vaeChannels[0], 3);
  conv('encoder.conv_out', d.vaeChannels[d.vaeChannels.length - 1], 2 * d.latentChannels, 3);
  conv('decoder.conv_in', d.latentChannels, top, 3);
  resnet('decoder.mid_block.resnets.0', top, top);
  groupNorm('decoder.mid_block.attentions.0.group_norm', top);
  for (const p of ['to_q', 'to_k', 'to_v', 'to_out.0']) {
    out.push({ name: `decoder.mid_block.attentions.0.${p}.weight`, shape: [top, top], role: 'linear' }, { name: `decoder.mid_block.attentions.0.${p}.bias`, shape: [top], role: 'bias' });
  }
  resnet('decoder.mid_block.resnets.1', top, top);
  let channels = top;
  reversed.forEach((outC, level) => {
    for (let r = 0; r <= d.vaeLayersPerBlock; r++) {
      resnet(`decoder.up_blocks.${level}.resnets.${r}`, r === 0 ? channels : outC, outC);
    }
    channels = outC;
    if (level < reversed.length - 1) {
      conv(`decoder.up_blocks.${level}.upsamplers.0.conv`, outC, outC, 3);
    }
  });
  groupNorm('decoder.conv_norm_out', channels);
  conv('decoder.conv_out', channels, 3, 3);
  return out;
}

function clipTensors(spec: FluxFixtureSpec): Planned[] {
  const c = spec.dims.clip;
  const out: Planned[] = [
    { name: 'text_model.embeddings.token_embedding.weight', shape: [clipVocabSize(spec.dims), c.hidden], role: 'embedding' },
    { name: 'text_model.embeddings.position_embedding.weight', shape: [77, c.hidden], role: 'table' },
  ];
  const linear = (name: string, inF: number, outF: number) => out.push({ name: `${name}.weight`, shape: [outF, inF], role: 'linear' }, { name: `${name}.bias`, shape: [outF], role: 'bias' });
  const layerNorm = (name: string) => out.push({ name: `${name}.weight`, shape: [c.hidden], role: 'norm' }, { name: `${name}.bias`, shape: [c.hidden], role: 'bias' });
  for (let i = 0; i < c.layers; i++) {
    const l = `text_model.encoder.layers.${i}`;
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      linear(`${l}.self_attn.${p}`, c.hidden, c.hidden);
    }
    layerNorm(`${l}.layer_norm1`);
    linear(`${l}.mlp.fc1`, c.hidden, c.intermediate);
    linear(`${l}.mlp.fc2`, c.intermediate, c.hidden);
    layerNorm(`${l}.layer_norm2`);
  }
  layerNorm('text_model.final_layer_norm');
  return out;
}

/** T5EncoderModel's tensors; the vocabulary is padded to a multiple of 16 as T5's 32128 is. */
function t5Tensors(spec: FluxFixtureSpec): Planned[] {
  const t = spec.dims.t5;
  const inner = t.heads * t.dKv;
  const vocab = Math.ceil(t5VocabularySize() / 16) * 16;
  const out: Planned[] = [{ name: 'shared.weight', shape: [vocab, t.dModel], role: 'embedding' }];
  for (let i = 0; i < t.layers; i++) {
    const a = `encoder.block.${i}.layer.0`;
    const f = `encoder.block.${i}.layer.1`;
    for (const p of ['q', 'k', 'v']) {
      out.push({ name: `${a}.SelfAttention.${p}.weight`, shape: [inner, t.dModel], role: 'linear' });
    }
    out.push({ name: `${a}.SelfAttention.o.weight`, shape: [t.dModel, inner], role: 'linear' });
    if (i === 0) {
      out.push({ name: `${a}.SelfAttention.relative_attention_bias.weight`, shape: [32, t.heads], role: 'table' });
    }
    out.push({ name: `${a}.layer_norm.weight`, shape: [t.dModel], role: 'norm' });
    out.push({ name: `${f}.DenseReluDense.wi_0.weight`, shape: [t.dFf, t.dModel], role: 'linear' });
    out.push({ name: `${f}.DenseReluDense.wi_1.weight`, shape: [t.dFf, t.dModel], role: 'linear' });
    out.push({ name: `${f}.DenseReluDense.wo.weight`, shape: [t.dModel, t.dFf], role: 'linear' });
    out.push({ name: `${f}.layer_norm.weight`, shape: [t.dModel], role: 'norm' });
  }
  out.push({ name: 'encoder.final_layer_norm.weight', shape: [t.dModel], role: 'norm' });
  return out;
}

/** Spreads that keep activations O(1) through the tiny networks and the decoded images away from 0 and 1. */
function stdOf(t: Planned): number {
  switch (t.role) {
    case 'linear':
    case 'embedding':
      return 1 / Math.sqrt(t.shape[t.shape.length - 1]);
    case 'conv':
      return 1 / Math.sqrt(t.shape[1] * t.shape[2] * t.shape[3]);
    case 'norm':
    case 'bias':
      return 0.1;
    case 'table':
      return 0.5;
  }
}

/** A tensor's float values, the same for every fixture of one seed whatever its layout. */
function values(spec: FluxFixtureSpec, component: string, t: Planned): mx.array {
  const drawn = uniform(t.shape, stdOf(t), mx.random.key(tensorSeed(spec.seed, `${component}/${t.name}`)));
  return t.role === 'norm' ? mx.add(drawn, 1) : drawn;
}

const DTYPES = { float32: mx.float32, bfloat16: mx.bfloat16, float16: mx.float16 };

type Tensors = Map<string, mx.array>;

function floats(spec: FluxFixtureSpec, component: string, planned: Planned[]): Tensors {
  return new Map(planned.map((t) => [t.name, values(spec, component, t)]));
}

/** Writes tensors (stored dtype applied to floats) as one safetensors file. */
function safetensors(tensors: Tensors, dtype: mx.Dtype, metadata: Record<string, string> = { format: 'pt' }): (path: string) => Promise<void> {
  return async (path) => {
    const out: Record<string, mx.array> = {};
    for (const [name, array] of tensors) {
      out[name] = mx.issubdtype(array.dtype, mx.floating) ? array.astype(dtype) : array;
      mx.eval(out[name]);
    }
    mx.saveSafetensors(path, out, metadata);
    await new Promise(setImmediate);
  };
}

/** Splits tensors over `count` shards with a `<prefix>.safetensors.index.json`, as transformers and diffusers save them. */
function sharded(folder: string, stem: string, tensors: Tensors, dtype: mx.Dtype, count: number): SnapshotFile[] {
  const names = [...tensors.keys()];
  const per = Math.ceil(names.length / count);
  const pad = (n: number) => String(n).padStart(5, '0');
  const files: SnapshotFile[] = [];
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const shard = `${stem}-${pad(i + 1)}-of-${pad(count)}.safetensors`;
    const part = new Map(names.slice(i * per, (i + 1) * per).map((n) => [n, tensors.get(n)!]));
    part.forEach((_, n) => (weightMap[n] = shard));
    files.push({ name: `${folder}/${shard}`, write: safetensors(part, dtype) });
  }
  files.push({ name: `${folder}/${stem}.safetensors.index.json`, content: json({ metadata: { total_size: 0 }, weight_map: weightMap }) });
  return files;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value, null, 2));

function transformerConfig(spec: FluxFixtureSpec): Record<string, unknown> {
  const d = spec.dims;
  return {
    _class_name: 'FluxTransformer2DModel',
    _diffusers_version: '0.30.0.dev0',
    attention_head_dim: d.headDim,
    guidance_embeds: spec.variant === 'dev',
    in_channels: d.latentChannels * 4,
    joint_attention_dim: d.t5.dModel,
    num_attention_heads: d.heads,
    num_layers: d.doubleBlocks,
    num_single_layers: d.singleBlocks,
    patch_size: 1,
    pooled_projection_dim: d.clip.hidden,
    ...(spec.variant === 'dev' ? { axes_dims_rope: [d.headDim / 8, (7 * d.headDim) / 16, (7 * d.headDim) / 16] } : {}),
  };
}

function vaeConfig(spec: FluxFixtureSpec): Record<string, unknown> {
  const d = spec.dims;
  const levels = d.vaeChannels.length;
  return {
    _class_name: 'AutoencoderKL',
    _diffusers_version: '0.30.0.dev0',
    act_fn: 'silu',
    block_out_channels: d.vaeChannels,
    down_block_types: Array.from({ length: levels }, () => 'DownEncoderBlock2D'),
    force_upcast: true,
    in_channels: 3,
    latent_channels: d.latentChannels,
    latents_mean: null,
    latents_std: null,
    layers_per_block: d.vaeLayersPerBlock,
    mid_block_add_attention: true,
    norm_num_groups: d.vaeGroups,
    out_channels: 3,
    sample_size: 1024,
    scaling_factor: 0.3611,
    shift_factor: 0.1159,
    up_block_types: Array.from({ length: levels }, () => 'UpDecoderBlock2D'),
    use_post_quant_conv: false,
    use_quant_conv: false,
  };
}

function clipConfig(spec: FluxFixtureSpec): Record<string, unknown> {
  const c = spec.dims.clip;
  return {
    architectures: ['CLIPTextModel'],
    attention_dropout: 0,
    bos_token_id: 0,
    dropout: 0,
    eos_token_id: 2,
    hidden_act: 'quick_gelu',
    hidden_size: c.hidden,
    initializer_factor: 1,
    initializer_range: 0.02,
    intermediate_size: c.intermediate,
    layer_norm_eps: 1e-5,
    max_position_embeddings: 77,
    model_type: 'clip_text_model',
    num_attention_heads: c.heads,
    num_hidden_layers: c.layers,
    pad_token_id: 1,
    projection_dim: c.hidden,
    torch_dtype: spec.dtype,
    vocab_size: clipVocabSize(spec.dims),
  };
}

function t5Config(spec: FluxFixtureSpec): Record<string, unknown> {
  const t = spec.dims.t5;
  return {
    architectures: ['T5EncoderModel'],
    d_ff: t.dFf,
    d_kv: t.dKv,
    d_model: t.dModel,
    decoder_start_token_id: 0,
    dense_act_fn: 'gelu_new',
    dropout_rate: 0.1,
    eos_token_id: 1,
    feed_forward_proj: 'gated-gelu',
    initializer_factor: 1,
    is_encoder_decoder: true,
    is_gated_act: true,
    layer_norm_epsilon: 1e-6,
    model_type: 't5',
    num_decoder_layers: t.layers,
    num_heads: t.heads,
    num_layers: t.layers,
    output_past: true,
    pad_token_id: 0,
    relative_attention_max_distance: 128,
    relative_attention_num_buckets: 32,
    tie_word_embeddings: false,
    torch_dtype: spec.dtype,
    use_cache: true,
    vocab_size: Math.ceil(t5VocabularySize() / 16) * 16,
  };
}

const prefixed = (folder: string, files: Record<string, Buffer>): SnapshotFile[] => Object.entries(files).map(([name, content]) => ({ name: `${folder}/${name}`, content }));

function clipTokenizerFolder(spec: FluxFixtureSpec, folder: string): SnapshotFile[] {
  return prefixed(folder, { ...clipVocabularyFiles(spec.dims.clipMerges), ...clipTokenizerConfigFiles() });
}

/** BFL's transformer names: fused q/k/v and (single blocks) q/k/v/mlp, final modulation stored (shift, scale). */
function bflTransformer(t: Tensors, spec: FluxFixtureSpec): Tensors {
  const out: Tensors = new Map();
  const put = (name: string, value: mx.array) => out.set(name, value);
  const both = (from: string, to: string) => {
    put(`${to}.weight`, t.get(`${from}.weight`)!);
    put(`${to}.bias`, t.get(`${from}.bias`)!);
  };
  const fused = (from: string[], to: string) => {
    put(`${to}.weight`, mx.concatenate(from.map((f) => t.get(`${f}.weight`)!), 0));
    put(`${to}.bias`, mx.concatenate(from.map((f) => t.get(`${f}.bias`)!), 0));
  };
  both('x_embedder', 'img_in');
  both('context_embedder', 'txt_in');
  both('time_text_embed.timestep_embedder.linear_1', 'time_in.in_layer');
  both('time_text_embed.timestep_embedder.linear_2', 'time_in.out_layer');
  both('time_text_embed.text_embedder.linear_1', 'vector_in.in_layer');
  both('time_text_embed.text_embedder.linear_2', 'vector_in.out_layer');
  if (spec.variant === 'dev') {
    both('time_text_embed.guidance_embedder.linear_1', 'guidance_in.in_layer');
    both('time_text_embed.guidance_embedder.linear_2', 'guidance_in.out_layer');
  }
  for (let i = 0; i < spec.dims.doubleBlocks; i++) {
    const d = `transformer_blocks.${i}`;
    const b = `double_blocks.${i}`;
    both(`${d}.norm1.linear`, `${b}.img_mod.lin`);
    both(`${d}.norm1_context.linear`, `${b}.txt_mod.lin`);
    fused([`${d}.attn.to_q`, `${d}.attn.to_k`, `${d}.attn.to_v`], `${b}.img_attn.qkv`);
    fused([`${d}.attn.add_q_proj`, `${d}.attn.add_k_proj`, `${d}.attn.add_v_proj`], `${b}.txt_attn.qkv`);
    put(`${b}.img_attn.norm.query_norm.scale`, t.get(`${d}.attn.norm_q.weight`)!);
    put(`${b}.img_attn.norm.key_norm.scale`, t.get(`${d}.attn.norm_k.weight`)!);
    put(`${b}.txt_attn.norm.query_norm.scale`, t.get(`${d}.attn.norm_added_q.weight`)!);
    put(`${b}.txt_attn.norm.key_norm.scale`, t.get(`${d}.attn.norm_added_k.weight`)!);
    both(`${d}.attn.to_out.0`, `${b}.img_attn.proj`);
    both(`${d}.attn.to_add_out`, `${b}.txt_attn.proj`);
    both(`${d}.ff.net.0.proj`, `${b}.img_mlp.0`);
    both(`${d}.ff.net.2`, `${b}.img_mlp.2`);
    both(`${d}.ff_context.net.0.proj`, `${b}.txt_mlp.0`);
    both(`${d}.ff_context.net.2`, `${b}.txt_mlp.2`);
  }
  for (let i = 0; i < spec.dims.singleBlocks; i++) {
    const d = `single_transformer_blocks.${i}`;
    const b = `single_blocks.${i}`;
    both(`${d}.norm.linear`, `${b}.modulation.lin`);
    fused([`${d}.attn.to_q`, `${d}.attn.to_k`, `${d}.attn.to_v`, `${d}.proj_mlp`], `${b}.linear1`);
    both(`${d}.proj_out`, `${b}.linear2`);
    put(`${b}.norm.query_norm.scale`, t.get(`${d}.attn.norm_q.weight`)!);
    put(`${b}.norm.key_norm.scale`, t.get(`${d}.attn.norm_k.weight`)!);
  }
  const swapHalves = (a: mx.array) => mx.concatenate(mx.split(a, 2, 0).reverse(), 0);
  put('final_layer.adaLN_modulation.1.weight', swapHalves(t.get('norm_out.linear.weight')!));
  put('final_layer.adaLN_modulation.1.bias', swapHalves(t.get('norm_out.linear.bias')!));
  both('proj_out', 'final_layer.linear');
  return out;
}

/** BFL's autoencoder names (ae.safetensors): levels numbered finest first, nin_shortcut, attention as 1×1 convolutions. */
function bflAutoencoder(t: Tensors, spec: FluxFixtureSpec): Tensors {
  const levels = spec.dims.vaeChannels.length;
  const out: Tensors = new Map();
  for (const [name, value] of t) {
    const renamed = name
      .replace(/^decoder\.conv_norm_out\./, 'decoder.norm_out.')
      .replace(/^decoder\.mid_block\.resnets\.(\d)\./, (_, i: string) => `decoder.mid.block_${Number(i) + 1}.`)
      .replace(/^decoder\.mid_block\.attentions\.0\.group_norm\./, 'decoder.mid.attn_1.norm.')
      .replace(/^decoder\.mid_block\.attentions\.0\.to_(q|k|v)\./, 'decoder.mid.attn_1.$1.')
      .replace(/^decoder\.mid_block\.attentions\.0\.to_out\.0\./, 'decoder.mid.attn_1.proj_out.')
      .replace(/^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\./, (_, k: string) => `decoder.up.${levels - 1 - Number(k)}.upsample.conv.`)
      .replace(/^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\./, (_, k: string, r: string) => `decoder.up.${levels - 1 - Number(k)}.block.${r}.`)
      .replace(/\.conv_shortcut\./, '.nin_shortcut.');
    const isAttentionProjection = /attn_1\.(q|k|v|proj_out)\.weight$/.test(renamed);
    out.set(renamed, isAttentionProjection ? value.reshape(value.shape[0], value.shape[1], 1, 1) : value);
  }
  return out;
}

/** mflux's names (its FluxWeightMapping targets), kernels [out, kh, kw, in], T5's position table copied into every block. */
function mfluxComponents(spec: FluxFixtureSpec, parts: Record<'transformer' | 'vae' | 'clip' | 't5', Tensors>): Record<'transformer' | 'vae' | 'clip' | 't5', Tensors> {
  const transformer: Tensors = new Map();
  for (const [name, value] of parts.transformer) {
    transformer.set(name.replace(/\.(ff|ff_context)\.net\.0\.proj\./, '.$1.linear1.').replace(/\.(ff|ff_context)\.net\.2\./, '.$1.linear2.'), value);
  }
  const vae: Tensors = new Map();
  for (const [name, value] of parts.vae) {
    const renamed = name.replace(/^(decoder|encoder)\.(conv_in|conv_out)\./, '$1.$2.conv2d.').replace(/^(decoder|encoder)\.conv_norm_out\./, '$1.conv_norm_out.norm.');
    vae.set(renamed, value.ndim === 4 ? value.transpose(0, 2, 3, 1) : value);
  }
  const t5: Tensors = new Map();
  const table = parts.t5.get('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight')!;
  for (const [name, value] of parts.t5) {
    const block = /^encoder\.block\.(\d+)\.layer\.(\d)\.(.*)$/.exec(name);
    if (name === 'encoder.final_layer_norm.weight') {
      t5.set('final_layer_norm.weight', value);
    } else if (block) {
      t5.set(`t5_blocks.${block[1]}.${block[2] === '0' ? 'attention' : 'ff'}.${block[3]}`, value);
    } else {
      t5.set(name, value);
    }
  }
  for (let i = 1; i < spec.dims.t5.layers; i++) {
    t5.set(`t5_blocks.${i}.attention.SelfAttention.relative_attention_bias.weight`, table);
  }
  return { transformer, vae, clip: parts.clip, t5 };
}

/** Replaces every linear and embedding whose rows split into whole groups by its packed weight, scales and biases (mflux's nn.quantize). */
function quantize(spec: FluxFixtureSpec, component: string, tensors: Tensors, q: { bits: number; groupSize: number }): Tensors {
  const out: Tensors = new Map();
  for (const [name, value] of tensors) {
    const module = name.replace(/\.weight$/, '');
    const quantizable = name.endsWith('.weight') && value.ndim === 2 && value.shape[1] % q.groupSize === 0 && !name.includes('relative_attention_bias') && !name.includes('position_embedding');
    if (!quantizable) {
      out.set(name, value);
      continue;
    }
    const std = 1 / Math.sqrt(value.shape[1]);
    const [words, scales, biases] = packedQuantizedTensor(spec.seed, `${component}/${name}`, value.shape, std, q);
    out.set(`${module}.weight`, words);
    out.set(`${module}.scales`, scales);
    out.set(`${module}.biases`, biases);
  }
  return out;
}

function diffusersFiles(spec: FluxFixtureSpec, parts: Record<'transformer' | 'vae' | 'clip' | 't5', Tensors>): SnapshotFile[] {
  const dtype = DTYPES[spec.dtype];
  const t5 = new Map(parts.t5);
  // transformers saves T5EncoderModel's tied table under both names.
  t5.set('encoder.embed_tokens.weight', parts.t5.get('shared.weight')!);
  const files: SnapshotFile[] = [
    {
      name: 'model_index.json',
      content: json({
        _class_name: 'FluxPipeline',
        _diffusers_version: '0.30.0.dev0',
        scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
        text_encoder: ['transformers', 'CLIPTextModel'],
        text_encoder_2: ['transformers', 'T5EncoderModel'],
        tokenizer: ['transformers', 'CLIPTokenizer'],
        tokenizer_2: ['transformers', 'T5TokenizerFast'],
        transformer: ['diffusers', 'FluxTransformer2DModel'],
        vae: ['diffusers', 'AutoencoderKL'],
      }),
    },
    {
      name: 'scheduler/scheduler_config.json',
      content: json({
        _class_name: 'FlowMatchEulerDiscreteScheduler',
        _diffusers_version: '0.30.0.dev0',
        base_image_seq_len: 256,
        base_shift: 0.5,
        max_image_seq_len: 4096,
        max_shift: 1.15,
        num_train_timesteps: 1000,
        shift: spec.variant === 'dev' ? 3.0 : 1.0,
        use_dynamic_shifting: spec.variant === 'dev',
      }),
    },
    { name: 'transformer/config.json', content: json(transformerConfig(spec)) },
    ...sharded('transformer', 'diffusion_pytorch_model', parts.transformer, dtype, 2),
    { name: 'vae/config.json', content: json(vaeConfig(spec)) },
    { name: 'vae/diffusion_pytorch_model.safetensors', write: safetensors(parts.vae, dtype) },
    { name: 'text_encoder/config.json', content: json(clipConfig(spec)) },
    { name: 'text_encoder/model.safetensors', write: safetensors(parts.clip, dtype) },
    { name: 'text_encoder_2/config.json', content: json(t5Config(spec)) },
    ...sharded('text_encoder_2', 'model', t5, dtype, 2),
    ...clipTokenizerFolder(spec, 'tokenizer'),
    ...prefixed('tokenizer_2', t5TokenizerFiles(spec.t5Tokenizer)),
  ];
  if (spec.bflCopies) {
    files.push(
      { name: `flux1-${spec.variant}.safetensors`, write: safetensors(bflTransformer(parts.transformer, spec), dtype) },
      { name: 'ae.safetensors', write: safetensors(bflAutoencoder(parts.vae, spec), dtype) },
    );
  }
  return files;
}

function mfluxFiles(spec: FluxFixtureSpec, parts: Record<'transformer' | 'vae' | 'clip' | 't5', Tensors>): SnapshotFile[] {
  const dtype = DTYPES[spec.dtype];
  const named = mfluxComponents(spec, parts);
  const q = spec.quantization;
  const metadata = { quantization_level: q ? String(q.bits) : 'None', mflux_version: '0.9.6' };
  const folderOf = { transformer: 'transformer', vae: 'vae', clip: 'text_encoder', t5: 'text_encoder_2' } as const;
  const files: SnapshotFile[] = [];
  for (const component of ['vae', 'transformer', 'clip', 't5'] as const) {
    const tensors = q && component !== 'vae' ? quantize(spec, component, named[component], q) : named[component];
    // mflux splits at 2 GB; the transformer is saved in two numbered shards here to exercise that.
    const shards = component === 'transformer' ? 2 : 1;
    const names = [...tensors.keys()];
    const per = Math.ceil(names.length / shards);
    for (let i = 0; i < shards; i++) {
      const part = new Map(names.slice(i * per, (i + 1) * per).map((n) => [n, tensors.get(n)!]));
      files.push({ name: `${folderOf[component]}/${i}.safetensors`, write: safetensors(part, dtype, metadata) });
    }
  }
  files.push(...clipTokenizerFolder(spec, 'tokenizer'), ...prefixed('tokenizer_2', t5TokenizerFiles(spec.t5Tokenizer)));
  return files;
}

function diffusionKitFiles(spec: FluxFixtureSpec, parts: Record<'transformer' | 'vae' | 'clip' | 't5', Tensors>): SnapshotFile[] {
  const dtype = DTYPES[spec.dtype];
  return [
    { name: 'README.md', content: Buffer.from('FLUX.1-schnell for DiffusionKit (MLX): BFL-format transformer and autoencoder.\n') },
    { name: `flux-${spec.variant}.safetensors`, write: safetensors(bflTransformer(parts.transformer, spec), dtype) },
    { name: 'ae.safetensors', write: safetensors(bflAutoencoder(parts.vae, spec), dtype) },
  ];
}

/** argmaxinc/stable-diffusion's CLIP-L, its tokenizer and T5-XXL (fp16, transformers' names), and google/t5-v1_1-xxl's config and sentencepiece tokenizer. */
function companionRepos(spec: FluxFixtureSpec, parts: Record<'transformer' | 'vae' | 'clip' | 't5', Tensors>): Array<{ repo: string; files: SnapshotFile[] }> {
  const t5 = new Map(parts.t5);
  t5.set('encoder.embed_tokens.weight', parts.t5.get('shared.weight')!);
  return [
    {
      repo: 'argmaxinc/stable-diffusion',
      files: [
        { name: 'clip_l/config.json', content: json({ ...clipConfig(spec), torch_dtype: 'float16' }) },
        { name: 'clip_l/model.fp16.safetensors', write: safetensors(parts.clip, mx.float16) },
        ...clipTokenizerFolder(spec, 'tokenizer_l').filter((file) => /vocab\.json|merges\.txt/.test(file.name)),
        { name: 't5/t5xxl.safetensors', write: safetensors(t5, mx.float16) },
      ],
    },
    {
      repo: 'google/t5-v1_1-xxl',
      files: [{ name: 'config.json', content: json({ ...t5Config(spec), architectures: ['T5ForConditionalGeneration'] }) }, ...Object.entries(t5TokenizerFiles({ spiece: true, tokenizerJson: false })).map(([name, content]) => ({ name, content }))],
    },
  ];
}

const GENERATOR_VERSION = 3;

function revisionOf(id: string, spec: unknown): string {
  return createHash('sha1').update(`flux-${GENERATOR_VERSION}\n${id}\n${JSON.stringify(spec)}`).digest('hex');
}

async function ensureSnapshot(hub: string, repo: string, revision: string, files: () => SnapshotFile[]): Promise<string> {
  const dir = snapshotDir(hub, repo, revision);
  const listed = files();
  if (await exists(join(dir, listed[0].name))) {
    await writeRef(join(hub, repoFolderName(repo)), revision);
    return dir;
  }
  return writeSnapshot(hub, repo, revision, listed);
}

/**
 * Makes sure the FLUX fixtures exist in `hub` (a Hugging Face cache) and returns each id's snapshot
 * folder; DiffusionKit fixtures also get their companion repos. Defaults to the tiny set.
 */
export async function ensureFluxFixtures(hub: string, ids?: string[]): Promise<Map<string, string>> {
  const all = [...FLUX_FIXTURE_SPECS, BENCH_FLUX_FIXTURE_SPEC];
  const specs = ids ? ids.map((id) => all.find((s) => s.id === id) ?? failUnknown(id, all)) : [...FLUX_FIXTURE_SPECS];
  const dirs = new Map<string, string>();
  for (const spec of specs) {
    const parts = () => ({
      transformer: floats(spec, 'transformer', transformerTensors(spec)),
      vae: floats(spec, 'vae', vaeTensors(spec)),
      clip: floats(spec, 'clip', clipTensors(spec)),
      t5: floats(spec, 't5', t5Tensors(spec)),
    });
    const layoutFiles = { diffusers: diffusersFiles, mflux: mfluxFiles, diffusionkit: diffusionKitFiles }[spec.layout];
    dirs.set(spec.id, await ensureSnapshot(hub, spec.id, revisionOf(spec.id, spec), () => layoutFiles(spec, parts())));
    if (spec.layout === 'diffusionkit') {
      for (const companion of companionRepos(spec, parts())) {
        dirs.set(companion.repo, await ensureSnapshot(hub, companion.repo, revisionOf(companion.repo, spec), () => companion.files));
      }
    }
  }
  return dirs;
}

function failUnknown(id: string, all: readonly FluxFixtureSpec[]): never {
  throw new Error(`Unknown FLUX fixture "${id}"; known: ${all.map((s) => s.id).join(', ')}`);
}
