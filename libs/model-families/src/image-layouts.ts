import type { CompanionRepo } from './families';
import { hasFolder, type JsonObject } from './signals';

/**
 * The three ways FLUX.1 checkpoints are published, told from file names (and model_index.json):
 * - `diffusers`: black-forest-labs/FLUX.1-schnell / -dev, `model_index.json` naming a FluxPipeline and one
 *   folder per component (transformer/, vae/, text_encoder/ CLIP-L, text_encoder_2/ T5, tokenizer/,
 *   tokenizer_2/, scheduler/), each with its config.json. These repos also carry a second full copy of
 *   the weights in BFL's format at the top (flux1-schnell.safetensors, ae.safetensors), never used.
 * - `mflux`: what mflux saves: the same folder names with `0.safetensors, 1.safetensors, …`, mflux's own
 *   tensor names, `quantization_level` in the safetensors metadata, and no config.json anywhere.
 * - `diffusionkit`: argmaxinc/mlx-FLUX.1-schnell: BFL's transformer and autoencoder files at the top
 *   (flux-schnell.safetensors, ae.safetensors); its text encoders come from other repos (DIFFUSIONKIT_COMPANIONS).
 */
export type FluxLayout = 'diffusers' | 'mflux' | 'diffusionkit';

/** The pipelines of model_index.json that FLUX.1's text-to-image engine serves. */
export const FLUX_PIPELINE_CLASSES = ['FluxPipeline'];

/** The BFL-format transformer of a single-file layout: flux-schnell.safetensors, flux1-dev.safetensors, … */
export const BFL_TRANSFORMER_FILE = /^flux[^/]*\.safetensors$/;
export const BFL_AUTOENCODER_FILE = 'ae.safetensors';

/** The diffusers class a model_index.json names (`_class_name`), if any. */
export function pipelineClass(modelIndex: JsonObject | undefined): string | undefined {
  const name = modelIndex?.['_class_name'];
  return typeof name === 'string' ? name : undefined;
}

/** Which FLUX.1 layout a folder holds, from its file list and model_index.json; undefined for none. */
export function fluxLayoutOf(files: ReadonlySet<string>, modelIndex: JsonObject | undefined): FluxLayout | undefined {
  if (files.has('model_index.json')) {
    return FLUX_PIPELINE_CLASSES.includes(pipelineClass(modelIndex) ?? '') ? 'diffusers' : undefined;
  }
  const folders = ['transformer', 'vae', 'text_encoder', 'text_encoder_2'];
  if (folders.every((folder) => hasFolder(files, folder)) && files.has('transformer/0.safetensors')) {
    return 'mflux';
  }
  if (files.has(BFL_AUTOENCODER_FILE) && [...files].some((path) => BFL_TRANSFORMER_FILE.test(path))) {
    return 'diffusionkit';
  }
  return undefined;
}

/**
 * Where DiffusionKit's FLUX takes its text encoders from, as its model_io.py does: CLIP-L, its
 * tokenizer and the T5-XXL encoder from argmaxinc/stable-diffusion, T5's config and tokenizer from
 * google/t5-v1_1-xxl (whose 45 GB of weights are not needed).
 */
export const DIFFUSIONKIT_COMPANIONS: readonly CompanionRepo[] = [
  {
    repo: 'argmaxinc/stable-diffusion',
    files: ['clip_l/config.json', 'clip_l/model.fp16.safetensors', 'tokenizer_l/vocab.json', 'tokenizer_l/merges.txt', 't5/t5xxl.safetensors'],
    provides: 'the CLIP-L and T5-XXL text encoders and the CLIP tokenizer',
  },
  {
    repo: 'google/t5-v1_1-xxl',
    files: ['config.json', 'spiece.model', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'],
    provides: "T5's config and tokenizer",
  },
];

/**
 * Which of a repo's files a pull fetches: all, except the top-level BFL copies of a diffusers FLUX repo
 * (flux1-*.safetensors and ae.safetensors, 33 GB for schnell) that the engine never reads. Decided from
 * the file list alone, before anything is downloaded.
 */
export function filesToPull(paths: readonly string[]): string[] {
  const files = new Set(paths);
  const diffusersFolders = ['transformer', 'vae', 'text_encoder', 'text_encoder_2'].every((folder) => hasFolder(files, folder));
  if (files.has('model_index.json') && diffusersFolders) {
    return paths.filter((path) => !(path === BFL_AUTOENCODER_FILE || BFL_TRANSFORMER_FILE.test(path)));
  }
  return [...paths];
}
