import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DIFFUSIONKIT_COMPANIONS, BFL_AUTOENCODER_FILE, BFL_TRANSFORMER_FILE, fluxLayoutOf, type FluxLayout } from '@mlx-omni/model-families';
import { ModelFileMissingError, ModelLoadError } from '../../io/errors';
import { companionFolder, readModelJson, safetensorsFiles, type LoadOptions } from '../../io/load-weights';
import { isJsonObject } from '../../io/model-config';
import { quantizationFromShapes, type QuantizationConfig } from '../../io/quantization';
import { readSafetensorsHeader, readSafetensorsMetadata } from '../../io/safetensors';
import type { ConvKernelLayout } from '../../nn/conv';

/**
 * One component's checkpoint as the engine reads it: its files, the renaming from the layout's tensor
 * names to diffusers' (the one naming the FLUX modules are built from; undefined drops a tensor), its
 * config.json when the layout has one, and MLX quantization when mflux saved it quantized.
 */
export interface ComponentCheckpoint {
  files: string[];
  rename: (name: string) => string | undefined;
  configPath: string | undefined;
  quantization: QuantizationConfig | undefined;
  bits: number | undefined;
}

export interface FluxCheckpoint {
  layout: FluxLayout;
  dir: string;
  transformer: ComponentCheckpoint;
  vae: ComponentCheckpoint & { convLayout: ConvKernelLayout };
  clip: ComponentCheckpoint;
  t5: ComponentCheckpoint;
  /** vocab.json + merges.txt (+ tokenizer_config.json, special_tokens_map.json). */
  clipTokenizerDir: string;
  /** tokenizer.json and/or spiece.model. */
  t5TokenizerDir: string;
  schedulerConfigPath: string | undefined;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Every file under `dir` up to two levels down, "/"-separated, for telling the layout. */
async function listFiles(dir: string): Promise<Set<string>> {
  const files = new Set<string>();
  const walk = async (relative: string, depth: number): Promise<void> => {
    const entries = await readdir(join(dir, relative), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory() && depth < 1) {
        await walk(path, depth + 1);
      } else if (!entry.isDirectory()) {
        files.add(path);
      }
    }
  };
  await walk('', 0);
  return files;
}

/** A diffusers component folder's shards: its `*.safetensors.index.json`, else its safetensors files. */
async function diffusersFiles(folder: string): Promise<string[]> {
  const index = await readModelJson(join(folder, 'diffusion_pytorch_model.safetensors.index.json'), false);
  if (index && isJsonObject(index['weight_map'])) {
    return [...new Set(Object.values(index['weight_map']).map(String))].sort().map((shard) => join(folder, shard));
  }
  return safetensorsFiles(folder);
}

const identity = (name: string): string => name;

const withoutEncoder = (rename: (name: string) => string | undefined) => (name: string) =>
  name.startsWith('encoder.') || name.startsWith('quant_conv.') ? undefined : rename(name);

/** mflux's module names → diffusers', per component (mflux's FluxWeightMapping, read backwards). */
const MFLUX_RENAMES = {
  transformer: (name: string) => name.replace(/\.(ff|ff_context)\.linear1\./, '.$1.net.0.proj.').replace(/\.(ff|ff_context)\.linear2\./, '.$1.net.2.'),
  vae: withoutEncoder((name: string) =>
    name.replace(/^decoder\.(conv_in|conv_out)\.conv2d\./, 'decoder.$1.').replace(/^decoder\.conv_norm_out\.norm\./, 'decoder.conv_norm_out.'),
  ),
  t5: (name: string): string | undefined => {
    if (name === 'final_layer_norm.weight') {
      return 'encoder.final_layer_norm.weight';
    }
    const block = /^t5_blocks\.(\d+)\.(attention|ff)\.(.*)$/.exec(name);
    if (!block) {
      return name;
    }
    const [, index, part, rest] = block;
    // mflux copies block 0's relative-attention table into every block; the model has one.
    if (rest.startsWith('SelfAttention.relative_attention_bias.') && index !== '0') {
      return undefined;
    }
    return `encoder.block.${index}.layer.${part === 'attention' ? 0 : 1}.${rest}`;
  },
  clip: identity,
};

/** BFL's flux transformer names → diffusers'. The fused projections keep fused names (see FluxTransformer). */
function bflTransformerName(name: string): string | undefined {
  const rules: Array<[RegExp, string]> = [
    [/^img_in\./, 'x_embedder.'],
    [/^txt_in\./, 'context_embedder.'],
    [/^time_in\.in_layer\./, 'time_text_embed.timestep_embedder.linear_1.'],
    [/^time_in\.out_layer\./, 'time_text_embed.timestep_embedder.linear_2.'],
    [/^vector_in\.in_layer\./, 'time_text_embed.text_embedder.linear_1.'],
    [/^vector_in\.out_layer\./, 'time_text_embed.text_embedder.linear_2.'],
    [/^guidance_in\.in_layer\./, 'time_text_embed.guidance_embedder.linear_1.'],
    [/^guidance_in\.out_layer\./, 'time_text_embed.guidance_embedder.linear_2.'],
    [/^final_layer\.linear\./, 'proj_out.'],
    [/^final_layer\.adaLN_modulation\.1\./, 'norm_out.linear.'],
    [/^double_blocks\.(\d+)\.img_mod\.lin\./, 'transformer_blocks.$1.norm1.linear.'],
    [/^double_blocks\.(\d+)\.txt_mod\.lin\./, 'transformer_blocks.$1.norm1_context.linear.'],
    [/^double_blocks\.(\d+)\.img_attn\.qkv\./, 'transformer_blocks.$1.attn.to_qkv.'],
    [/^double_blocks\.(\d+)\.txt_attn\.qkv\./, 'transformer_blocks.$1.attn.to_added_qkv.'],
    [/^double_blocks\.(\d+)\.img_attn\.norm\.query_norm\.scale$/, 'transformer_blocks.$1.attn.norm_q.weight'],
    [/^double_blocks\.(\d+)\.img_attn\.norm\.key_norm\.scale$/, 'transformer_blocks.$1.attn.norm_k.weight'],
    [/^double_blocks\.(\d+)\.txt_attn\.norm\.query_norm\.scale$/, 'transformer_blocks.$1.attn.norm_added_q.weight'],
    [/^double_blocks\.(\d+)\.txt_attn\.norm\.key_norm\.scale$/, 'transformer_blocks.$1.attn.norm_added_k.weight'],
    [/^double_blocks\.(\d+)\.img_attn\.proj\./, 'transformer_blocks.$1.attn.to_out.0.'],
    [/^double_blocks\.(\d+)\.txt_attn\.proj\./, 'transformer_blocks.$1.attn.to_add_out.'],
    [/^double_blocks\.(\d+)\.img_mlp\.0\./, 'transformer_blocks.$1.ff.net.0.proj.'],
    [/^double_blocks\.(\d+)\.img_mlp\.2\./, 'transformer_blocks.$1.ff.net.2.'],
    [/^double_blocks\.(\d+)\.txt_mlp\.0\./, 'transformer_blocks.$1.ff_context.net.0.proj.'],
    [/^double_blocks\.(\d+)\.txt_mlp\.2\./, 'transformer_blocks.$1.ff_context.net.2.'],
    [/^single_blocks\.(\d+)\.modulation\.lin\./, 'single_transformer_blocks.$1.norm.linear.'],
    [/^single_blocks\.(\d+)\.linear1\./, 'single_transformer_blocks.$1.to_qkv_mlp.'],
    [/^single_blocks\.(\d+)\.linear2\./, 'single_transformer_blocks.$1.proj_out.'],
    [/^single_blocks\.(\d+)\.norm\.query_norm\.scale$/, 'single_transformer_blocks.$1.attn.norm_q.weight'],
    [/^single_blocks\.(\d+)\.norm\.key_norm\.scale$/, 'single_transformer_blocks.$1.attn.norm_k.weight'],
  ];
  for (const [pattern, replacement] of rules) {
    if (pattern.test(name)) {
      return name.replace(pattern, replacement);
    }
  }
  return undefined;
}

/** BFL's autoencoder (ae.safetensors) decoder names → diffusers'; BFL numbers resolution levels finest first. */
function bflDecoderRename(levels: number): (name: string) => string | undefined {
  return (name) => {
    if (!name.startsWith('decoder.')) {
      return undefined;
    }
    const level = (j: string) => String(levels - 1 - Number(j));
    const rules: Array<[RegExp, (...groups: string[]) => string]> = [
      [/^decoder\.(conv_in|conv_out)\.(.*)$/, (part, rest) => `decoder.${part}.${rest}`],
      [/^decoder\.norm_out\.(.*)$/, (rest) => `decoder.conv_norm_out.${rest}`],
      [/^decoder\.mid\.block_(\d)\.(.*)$/, (i, rest) => `decoder.mid_block.resnets.${Number(i) - 1}.${rest}`],
      [/^decoder\.mid\.attn_1\.norm\.(.*)$/, (rest) => `decoder.mid_block.attentions.0.group_norm.${rest}`],
      [/^decoder\.mid\.attn_1\.(q|k|v)\.(.*)$/, (p, rest) => `decoder.mid_block.attentions.0.to_${p}.${rest}`],
      [/^decoder\.mid\.attn_1\.proj_out\.(.*)$/, (rest) => `decoder.mid_block.attentions.0.to_out.0.${rest}`],
      [/^decoder\.up\.(\d+)\.block\.(\d+)\.nin_shortcut\.(.*)$/, (j, r, rest) => `decoder.up_blocks.${level(j)}.resnets.${r}.conv_shortcut.${rest}`],
      [/^decoder\.up\.(\d+)\.block\.(\d+)\.(.*)$/, (j, r, rest) => `decoder.up_blocks.${level(j)}.resnets.${r}.${rest}`],
      [/^decoder\.up\.(\d+)\.upsample\.conv\.(.*)$/, (j, rest) => `decoder.up_blocks.${level(j)}.upsamplers.0.conv.${rest}`],
    ];
    for (const [pattern, build] of rules) {
      const match = pattern.exec(name);
      if (match) {
        return build(...match.slice(1));
      }
    }
    return undefined;
  };
}

/** Hugging Face CLIP text encoders, with or without the `text_model.` prefix; buffers and projections dropped. */
function hfClipName(name: string): string | undefined {
  const full = name.startsWith('text_model.') ? name : `text_model.${name}`;
  return full.endsWith('.position_ids') || !/^text_model\.(embeddings|encoder|final_layer_norm)\./.test(full) ? undefined : full;
}

/** Hugging Face T5 encoders: `shared` and `encoder.embed_tokens` are one tied table; keep one. */
function hfT5Rename(names: ReadonlySet<string>): (name: string) => string | undefined {
  return (name) => {
    if (name === 'encoder.embed_tokens.weight') {
      return names.has('shared.weight') ? undefined : 'shared.weight';
    }
    return name.startsWith('decoder.') || name === 'lm_head.weight' ? undefined : name;
  };
}

async function headerNames(files: readonly string[]): Promise<Set<string>> {
  return new Set((await Promise.all(files.map(readSafetensorsHeader))).flat().map((t) => t.name));
}

async function component(
  files: string[],
  rename: (name: string) => string | undefined,
  configPath: string | undefined,
  bits?: number,
): Promise<ComponentCheckpoint> {
  let quantization: QuantizationConfig | undefined;
  if (bits !== undefined) {
    const headers = (await Promise.all(files.map(readSafetensorsHeader))).flat();
    // Keyed by the checkpoint's own names, as loadWeights looks quantization up.
    quantization = quantizationFromShapes(
      headers.filter((t) => rename(t.name) !== undefined),
      bits,
    );
  }
  return { files, rename, configPath: configPath !== undefined && (await exists(configPath)) ? configPath : undefined, quantization, bits };
}

/** mflux writes `quantization_level` ("4", "8", or "None") into every shard's metadata. */
async function mfluxBits(files: readonly string[]): Promise<number | undefined> {
  const level = (await readSafetensorsMetadata(files[0]))['quantization_level'];
  return level === undefined || level === 'None' || level === 'null' || level === '' ? undefined : Number(level);
}

async function diffusersCheckpoint(dir: string): Promise<FluxCheckpoint> {
  const sub = (name: string) => join(dir, name);
  const t5Files = await safetensorsFiles(sub('text_encoder_2'));
  return {
    layout: 'diffusers',
    dir,
    transformer: await component(await diffusersFiles(sub('transformer')), identity, join(dir, 'transformer', 'config.json')),
    vae: { ...(await component(await diffusersFiles(sub('vae')), withoutEncoder(identity), join(dir, 'vae', 'config.json'))), convLayout: 'oihw' },
    clip: await component(await safetensorsFiles(sub('text_encoder')), hfClipName, join(dir, 'text_encoder', 'config.json')),
    t5: await component(t5Files, hfT5Rename(await headerNames(t5Files)), join(dir, 'text_encoder_2', 'config.json')),
    clipTokenizerDir: sub('tokenizer'),
    t5TokenizerDir: sub('tokenizer_2'),
    schedulerConfigPath: (await exists(join(dir, 'scheduler', 'scheduler_config.json'))) ? join(dir, 'scheduler', 'scheduler_config.json') : undefined,
  };
}

async function mfluxCheckpoint(dir: string): Promise<FluxCheckpoint> {
  const part = async (folder: string, rename: (name: string) => string | undefined) => {
    const files = await safetensorsFiles(join(dir, folder));
    return component(files, rename, undefined, await mfluxBits(files));
  };
  return {
    layout: 'mflux',
    dir,
    transformer: await part('transformer', MFLUX_RENAMES.transformer),
    // mflux saves its convolutions in MLX's kernel layout.
    vae: { ...(await part('vae', MFLUX_RENAMES.vae)), convLayout: 'ohwi' },
    clip: await part('text_encoder', MFLUX_RENAMES.clip),
    t5: await part('text_encoder_2', MFLUX_RENAMES.t5),
    clipTokenizerDir: join(dir, 'tokenizer'),
    t5TokenizerDir: join(dir, 'tokenizer_2'),
    schedulerConfigPath: undefined,
  };
}

/** The folder of one of DiffusionKit's companion repos, or what to pull. */
function companionDir(options: LoadOptions, repo: string, dir: string): string {
  const provides = DIFFUSIONKIT_COMPANIONS.find((c) => c.repo === repo)?.provides ?? 'files';
  return companionFolder(options, repo, provides, dir);
}

async function diffusionKitCheckpoint(dir: string, files: ReadonlySet<string>, options: LoadOptions): Promise<FluxCheckpoint> {
  const transformerFile = [...files].filter((path) => BFL_TRANSFORMER_FILE.test(path)).sort()[0];
  const aeFile = join(dir, BFL_AUTOENCODER_FILE);
  const aeNames = await headerNames([aeFile]);
  const levels = new Set([...aeNames].flatMap((name) => /^decoder\.up\.(\d+)\./.exec(name)?.[1] ?? [])).size;
  const transformerNames = await headerNames([join(dir, transformerFile)]);
  if (!transformerNames.has('img_in.weight')) {
    throw new ModelLoadError(`${join(dir, transformerFile)} does not hold BFL's tensor names (img_in, double_blocks, …); DiffusionKit's pre-quantized checkpoints are not supported`);
  }
  const stableDiffusion = companionDir(options, 'argmaxinc/stable-diffusion', dir);
  const t5Repo = companionDir(options, 'google/t5-v1_1-xxl', dir);
  const t5Files = [join(stableDiffusion, 't5', 't5xxl.safetensors')];
  const clipFile = join(stableDiffusion, 'clip_l', 'model.fp16.safetensors');
  for (const file of [...t5Files, clipFile]) {
    if (!(await exists(file))) {
      throw new ModelFileMissingError(file, 'pull argmaxinc/stable-diffusion again');
    }
  }
  return {
    layout: 'diffusionkit',
    dir,
    transformer: await component([join(dir, transformerFile)], bflTransformerName, undefined),
    vae: { ...(await component([aeFile], bflDecoderRename(levels), undefined)), convLayout: 'oihw' },
    clip: await component([clipFile], hfClipName, join(stableDiffusion, 'clip_l', 'config.json')),
    t5: await component(t5Files, hfT5Rename(await headerNames(t5Files)), join(t5Repo, 'config.json')),
    clipTokenizerDir: join(stableDiffusion, 'tokenizer_l'),
    t5TokenizerDir: t5Repo,
    schedulerConfigPath: undefined,
  };
}

/** The FLUX.1 checkpoint in `dir`, in whichever of the three layouts it is. */
export async function readFluxCheckpoint(dir: string, options: LoadOptions = {}): Promise<FluxCheckpoint> {
  const files = await listFiles(dir);
  const modelIndex = files.has('model_index.json') ? await readModelJson(join(dir, 'model_index.json'), true) : undefined;
  const layout = fluxLayoutOf(files, modelIndex);
  switch (layout) {
    case 'diffusers':
      return diffusersCheckpoint(dir);
    case 'mflux':
      return mfluxCheckpoint(dir);
    case 'diffusionkit':
      return diffusionKitCheckpoint(dir, files, options);
    case undefined:
      throw new ModelLoadError(`${dir} holds no FLUX.1 checkpoint in a layout the engine reads (diffusers, mflux, DiffusionKit)`);
  }
}
