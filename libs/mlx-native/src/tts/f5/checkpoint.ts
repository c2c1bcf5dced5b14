import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isF5Checkpoint } from '@mlx-omni/model-families';
import { InvalidModelConfigError, ModelFileMissingError } from '../../io/errors';
import { loadedWeightBytes, loadWeights, type WeightLoadPlan } from '../../io/load-weights';
import type { QuantizationConfig } from '../../io/quantization';
import type { ConvLayout } from '../../io/resident-weights';
import { readSafetensorsHeader, type TensorInfo } from '../../io/safetensors';
import type { WeightStore } from '../../io/weight-store';

/**
 * lucasnewman/f5-tts-mlx's files: no config.json; the DiT as `model_v1.safetensors` (SWivid's PyTorch
 * checkpoint, `ema_model.`-prefixed) or converted and MLX-quantized as `model_v1_4b.safetensors` /
 * `model_v1_8b.safetensors` (MLX module names, bits in the file name); the optional duration predictor
 * `duration_v2.safetensors` (trained in MLX, MLX names); the character vocabulary `vocab.txt`.
 */
export interface F5Files {
  model: string;
  /** Bits of a converted checkpoint; undefined for the float one. */
  bits: number | undefined;
  duration: string | undefined;
  vocab: string;
}

export const DURATION_FILE = 'duration_v2.safetensors';
export const VOCAB_FILE = 'vocab.txt';

/** A checkpoint file's version and bits: `model_v1_4b.safetensors` → [1, 4]. */
function checkpointRank(name: string): [number, number] {
  const [, version, bits] = /^model_v(\d+)(?:_(\d+)b)?\.safetensors$/.exec(name) ?? [];
  return [Number(version), bits === undefined ? Infinity : Number(bits)];
}

/**
 * The files of the F5-TTS model in `dir`. A full clone of the repo holds the float checkpoint beside its
 * conversions: the newest version is taken, and of it the float weights, else the conversion with the
 * most bits.
 */
export async function f5Files(dir: string): Promise<F5Files> {
  const entries = await readdir(dir).catch(() => {
    throw new ModelFileMissingError(dir, 'the model directory does not exist');
  });
  const [model] = entries.filter(isF5Checkpoint).sort((a, b) => {
    const [va, ba] = checkpointRank(a);
    const [vb, bb] = checkpointRank(b);
    return vb - va || bb - ba;
  });
  if (model === undefined) {
    throw new ModelFileMissingError(join(dir, 'model_v1.safetensors'), 'an F5-TTS folder needs model_v1.safetensors or a model_v1_4b/8b conversion');
  }
  if (!entries.includes(VOCAB_FILE)) {
    throw new ModelFileMissingError(join(dir, VOCAB_FILE), 'F5-TTS reads its character vocabulary from it');
  }
  const bits = checkpointRank(model)[1];
  return {
    model: join(dir, model),
    bits: Number.isFinite(bits) ? bits : undefined,
    duration: entries.includes(DURATION_FILE) ? join(dir, DURATION_FILE) : undefined,
    vocab: join(dir, VOCAB_FILE),
  };
}

/**
 * One module name for both namings: SWivid's (`ema_model.transformer.transformer_blocks.0.ff.ff.0.0`) and
 * MLX's, whose nn.Sequential children sit under `.layers` (`transformer.transformer_blocks.0.ff.ff.layers.0.layers.0`).
 */
export function f5ModuleName(name: string): string {
  return name.replace(/^ema_model\./, '').replace(/\.layers(?=\.)/g, '');
}

/** Tensors the forward never reads: the EMA wrapper's counters, the training mel front end's buffers, precomputed tables. */
function isF5InferenceTensor(name: string): boolean {
  const module = f5ModuleName(name);
  return !['initted', 'step'].includes(module) && !module.startsWith('mel_spec.') && !module.endsWith('freqs_cis');
}

/** MLX's naming (and with it MLX's convolution layout [out, kernel, in]) shows in its `.layers.` paths, which every F5 module tree has. */
function convLayoutOf(headers: readonly TensorInfo[]): ConvLayout {
  return headers.some((tensor) => tensor.name.includes('.layers.')) ? 'mlx' : 'torch';
}

/**
 * MLX affine quantization of a converted checkpoint. There is no config.json: the bits are in the file
 * name, and the group size follows from any quantized module's shapes (columns = packed words · 32/bits,
 * divided into as many groups as it has scales).
 */
function quantizationOf(file: string, headers: readonly TensorInfo[], bits: number | undefined): QuantizationConfig | undefined {
  const scales = headers.find((tensor) => tensor.name.endsWith('.scales'));
  if (scales === undefined) {
    return undefined;
  }
  const weight = headers.find((tensor) => tensor.name === `${scales.name.slice(0, -'.scales'.length)}.weight`);
  if (bits === undefined || weight === undefined) {
    throw new InvalidModelConfigError(file, 'quantized tensors in a file whose name gives no bit width (model_v1_4b / model_v1_8b.safetensors)');
  }
  const columns = (weight.shape[weight.shape.length - 1] * 32) / bits;
  return { bits, groupSize: columns / scales.shape[scales.shape.length - 1], mode: 'affine', overrides: {} };
}

/** A safetensors file of F5's (the DiT, the duration model or Vocos) and how to read it. */
export interface F5Checkpoint {
  file: string;
  layout: ConvLayout;
  plan: Omit<WeightLoadPlan, 'keepQuantized'>;
}

/** Reads a checkpoint's header: its layout and how to load it, keeping the tensors `keep` accepts under their module names. */
export async function f5Checkpoint(file: string, modelDir: string, bits: number | undefined, keep = isF5InferenceTensor): Promise<F5Checkpoint> {
  const headers = await readSafetensorsHeader(file);
  return {
    file,
    layout: convLayoutOf(headers),
    plan: { modelDir, quantization: quantizationOf(file, headers, bits), keep, rename: f5ModuleName },
  };
}

export function loadCheckpoint(checkpoint: F5Checkpoint, keepQuantized: boolean): Promise<WeightStore> {
  return loadWeights([checkpoint.file], { ...checkpoint.plan, keepQuantized });
}

export function checkpointBytes(checkpoint: F5Checkpoint, keepQuantized: boolean): Promise<number> {
  return loadedWeightBytes([checkpoint.file], { ...checkpoint.plan, keepQuantized });
}
