import { core as mx } from '@frost-beta/mlx';
import { randomBytes } from 'node:crypto';
import { access, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QuantizedTensor } from '../nn/layers';
import { InvalidModelConfigError, MissingTensorError, ModelFileMissingError, ModelIncompleteError, ModelLoadError, TensorShapeMismatchError } from './errors';
import { isJsonObject, type JsonObject } from './model-config';
import { quantizationFor, type QuantizationConfig } from './quantization';
import { npzToSafetensors, readNpzHeader } from './npz';
import { dtypeBytes, FLOAT_DTYPES, readSafetensorsHeader, type TensorInfo } from './safetensors';
import { WeightStore } from './weight-store';

/**
 * How to hold quantized weights. `auto` dequantizes to float on the CPU backend, where
 * quantizedMatmul is several times slower than a float32 matmul, and keeps them quantized on
 * Metal, where the quantized kernels are the fast path and the memory saving matters.
 */
export type WeightsMode = 'auto' | 'quantized' | 'dequantized';

export interface LoadOptions {
  weights?: WeightsMode;
  /**
   * Folders of other repos a model takes files from, by repo id (DiffusionKit's FLUX takes its text
   * encoders from argmaxinc/stable-diffusion, mlx-community's Whisper conversions their tokenizer from
   * an openai/whisper-* repo); the worker resolves them in the model cache (model-hub's companions).
   */
  companions?: Readonly<Record<string, string>>;
}

/**
 * The folder of companion repo `repo` the worker resolved for the model in `modelDir`, or a
 * ModelIncompleteError saying what the model takes from it (`provides`) and what to pull.
 */
export function companionFolder(options: LoadOptions, repo: string, provides: string, modelDir: string): string {
  const found = options.companions?.[repo];
  if (found === undefined) {
    throw new ModelIncompleteError(
      `${modelDir} takes ${provides} from ${repo}, which is not in the model cache; pull it (mlx-omni-server models pull ${repo}, or pull this model again, which fetches it)`,
    );
  }
  return found;
}

/** Whether quantized modules stay quantized under `mode` on this machine. */
export function keepsQuantized(mode: WeightsMode = 'auto'): boolean {
  return mode === 'quantized' || (mode === 'auto' && mx.metal.isAvailable());
}

/** Reads a JSON object from a model folder; a missing required file or a malformed one is a ModelLoadError naming it. */
export async function readModelJson(path: string, required: true): Promise<JsonObject>;
export async function readModelJson(path: string, required: false): Promise<JsonObject | undefined>;
export async function readModelJson(path: string, required: boolean): Promise<JsonObject | undefined> {
  const parsed = await readJsonFile(path);
  if (parsed === undefined) {
    if (required) {
      throw new ModelFileMissingError(path, 'not a model directory, or the download is incomplete');
    }
    return undefined;
  }
  if (!isJsonObject(parsed)) {
    throw new InvalidModelConfigError(path, 'the top level is not a JSON object');
  }
  return parsed;
}

/** Any JSON value from a model folder (modules.json is a list); undefined when the file is absent, InvalidModelConfigError when malformed. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidModelConfigError(path, `not valid JSON (${(error as Error).message})`);
  }
}

/** The shards named by model.safetensors.index.json, else model.safetensors, else every *.safetensors (older mlx-community names). */
export async function safetensorsFiles(modelDir: string): Promise<string[]> {
  const indexPath = join(modelDir, 'model.safetensors.index.json');
  const index = await readModelJson(indexPath, false);
  if (index) {
    const weightMap = index['weight_map'];
    if (!isJsonObject(weightMap)) {
      throw new InvalidModelConfigError(indexPath, '"weight_map" must map tensor names to shard files');
    }
    const shards = [...new Set(Object.values(weightMap).map(String))].sort();
    const files = shards.map((shard) => join(modelDir, shard));
    for (const file of files) {
      await access(file).catch(() => {
        throw new ModelFileMissingError(file, `listed in ${indexPath}`);
      });
    }
    return files;
  }
  const single = join(modelDir, 'model.safetensors');
  const entries = await readdir(modelDir).catch(() => {
    throw new ModelFileMissingError(modelDir, 'the model directory does not exist');
  });
  if (entries.includes('model.safetensors')) {
    return [single];
  }
  const shards = entries.filter((name) => name.endsWith('.safetensors')).sort();
  if (shards.length === 0) {
    throw new ModelFileMissingError(single, 'no weights (*.safetensors) in the model directory');
  }
  return shards.map((name) => join(modelDir, name));
}

export interface WeightLoadPlan {
  modelDir: string;
  quantization: QuantizationConfig | undefined;
  keepQuantized: boolean;
  keep: (name: string) => boolean;
  /**
   * The name the model reads a checkpoint tensor by, or undefined to leave the tensor out, for
   * checkpoints that spell names otherwise (an image model saved by diffusers, mflux or BFL;
   * Qwen3-Embedding's decoder without the `model.` prefix). `keep` and the quantization lookups
   * use the checkpoint's own names, as config.json does; the store holds the renamed ones.
   */
  rename?: (name: string) => string | undefined;
}

/** Whether the plan loads checkpoint tensor `name`. */
function loads(plan: Pick<WeightLoadPlan, 'keep' | 'rename'>, name: string): boolean {
  return (plan.rename === undefined || plan.rename(name) !== undefined) && plan.keep(name);
}

const AFFINE_PARTS = ['weight', 'scales', 'biases'] as const;
const MXFP4_PARTS = ['weight', 'scales'] as const;

function isMxfp4(quantization: QuantizationConfig | undefined, module: string): boolean {
  const params = quantization ? quantizationFor(quantization, module) : false;
  return params !== false && params.mode === 'mxfp4';
}

/** The tensors a quantized module is stored as: MXFP4 has no biases. */
function quantizedParts(quantization: QuantizationConfig | undefined, module: string): readonly string[] {
  return isMxfp4(quantization, module) ? MXFP4_PARTS : AFFINE_PARTS;
}

/** FP4 E2M1: sign bit, two exponent bits, one mantissa bit; codes 8-15 are the negatives of 0-7. */
const E2M1_VALUES = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

/**
 * MXFP4 to float32: eight E2M1 codes per uint32 word (lowest bits first, as MLX packs them), each
 * group of 32 values multiplied by 2^(scale − 127). This binding predates MLX's MXFP4 kernels, so
 * MXFP4 modules are expanded at load on every backend. Codes are taken apart by division because
 * the binding's rightShift crashes.
 */
export function dequantizeMxfp4(weight: mx.array, scales: mx.array): mx.array {
  const lead = weight.shape.slice(0, -1);
  const words = weight.shape[weight.ndim - 1];
  const codes = Array.from({ length: 8 }, (_, j) =>
    mx.remainder(mx.floorDivide(weight, mx.array(16 ** j, mx.uint32)), mx.array(16, mx.uint32)),
  );
  const values = mx.take(mx.array(E2M1_VALUES, mx.float32), mx.stack(codes, -1).astype(mx.int32));
  const groups = scales.shape[scales.ndim - 1];
  const grouped = values.reshape([...lead, groups, (words * 8) / groups]);
  const scale = mx.power(mx.array(2, mx.float32), mx.subtract(scales.astype(mx.float32), 127));
  return mx.multiply(grouped, mx.expandDims(scale, -1)).reshape([...lead, words * 8]);
}

/**
 * Reads the weights shard by shard: each tensor is converted (cast, dequantized) and evaluated
 * as soon as its shard is open, and the shard's source arrays are let go (freed when their
 * finalizers run, at the yield) before the next shard, so peak memory is the converted model plus
 * about one shard, not the checkpoint twice. Float32 tensors are not copied at all. A quantized
 * module whose parts straddle two shards waits until its last part arrives.
 *
 * The CPU backend multiplies float32 only, so there every float becomes float32; on Metal the
 * checkpoint's dtype is kept.
 */
export async function loadWeights(files: string[], plan: WeightLoadPlan): Promise<WeightStore> {
  const computeDtype = mx.metal.isAvailable() ? undefined : mx.float32;
  const toCompute = (a: mx.array): mx.array =>
    computeDtype && mx.issubdtype(a.dtype, mx.floating) ? a.astype(computeDtype) : a;

  const names = new Set((await plannedHeaders(files, plan)).map((t) => t.name));
  const quantizedModules = new Set(
    [...names].filter((n) => n.endsWith('.scales')).map((n) => n.slice(0, -'.scales'.length)),
  );
  /** The quantized module a tensor is a part of (a module's `.bias` is not one: it stays float). */
  const moduleOf = (name: string): string | undefined => {
    const dot = name.lastIndexOf('.');
    const module = name.slice(0, dot);
    const part = name.slice(dot + 1);
    return quantizedModules.has(module) && quantizedParts(plan.quantization, module).includes(part) ? module : undefined;
  };

  for (const module of quantizedModules) {
    const absent = quantizedParts(plan.quantization, module).map((part) => `${module}.${part}`).find((name) => !names.has(name));
    if (absent) {
      throw new MissingTensorError(absent, plan.modelDir);
    }
  }

  // Only names `loads` accepts reach it, so a rename never answers undefined here.
  const rename = (name: string): string => (plan.rename ? (plan.rename(name) as string) : name);
  const dense = new Map<string, mx.array>();
  const quantized = new Map<string, QuantizedTensor>();
  const pending = new Map<string, mx.array>();

  for (const file of files) {
    const converted = file.endsWith('.npz') ? join(tmpdir(), `mlx-omni-npz-${process.pid}-${randomBytes(6).toString('hex')}.safetensors`) : undefined;
    if (converted) {
      await npzToSafetensors(file, converted);
    }
    try {
      loadShard(converted ?? file);
      if (converted) {
        // A part waiting for the rest of its module must not outlive the temporary file it reads from.
        mx.eval(...pending.values());
      }
    } finally {
      if (converted) {
        await rm(converted, { force: true });
      }
    }
    // Let the finalizers of this shard's arrays run before the next shard is read.
    await new Promise(setImmediate);
  }
  return new WeightStore(dense, quantized, plan.modelDir);

  function loadShard(file: string): void {
    const arrays = mx.load(file) as unknown as Record<string, mx.array>;
    for (const [name, array] of Object.entries(arrays)) {
      if (!names.has(name)) {
        continue;
      }
      const module = moduleOf(name);
      if (!module) {
        const converted = toCompute(array);
        mx.eval(converted);
        dense.set(rename(name), converted);
        continue;
      }
      pending.set(name, array);
      const partNames = quantizedParts(plan.quantization, module);
      const parts = partNames.map((part) => pending.get(`${module}.${part}`));
      if (!parts.every((p): p is mx.array => p !== undefined)) {
        continue;
      }
      partNames.forEach((part) => pending.delete(`${module}.${part}`));
      if (isMxfp4(plan.quantization, module)) {
        const [weight, scales] = parts;
        const full = dequantizeMxfp4(checkedMxfp4(module, weight, scales), scales);
        mx.eval(full);
        dense.set(rename(`${module}.weight`), full);
        continue;
      }
      const [weight, scales, biases] = parts;
      const q = quantizedTensor(module, weight, toCompute(scales), toCompute(biases), plan);
      if (plan.keepQuantized) {
        mx.eval(q.weight, q.scales, q.biases);
        quantized.set(rename(`${module}.weight`).slice(0, -'.weight'.length), q);
      } else {
        const full = mx.dequantize(q.weight, q.scales, q.biases, q.groupSize, q.bits);
        mx.eval(full);
        dense.set(rename(`${module}.weight`), full);
      }
    }
  }
}

/** The tensors of weight files, from their headers alone: safetensors, or numpy .npz (older mlx-community repos). */
export async function weightHeaders(files: string[]): Promise<TensorInfo[]> {
  return (await Promise.all(files.map((file) => (file.endsWith('.npz') ? readNpzHeader(file) : readSafetensorsHeader(file))))).flat();
}

/** The tensors of `files` the plan loads, by their checkpoint names. */
async function plannedHeaders(files: string[], plan: Pick<WeightLoadPlan, 'keep' | 'rename'>): Promise<TensorInfo[]> {
  return (await weightHeaders(files)).filter((tensor) => loads(plan, tensor.name));
}

function checkedMxfp4(module: string, weight: mx.array, scales: mx.array): mx.array {
  const expected = [...weight.shape.slice(0, -1), weight.shape[weight.ndim - 1] / 4];
  if (String(weight.dtype) !== 'uint32' || String(scales.dtype) !== 'uint8') {
    throw new ModelLoadError(
      `Module "${module}" is declared mxfp4, but its tensors are ${String(weight.dtype)} weight and ${String(scales.dtype)} scales (expected uint32 and uint8)`,
    );
  }
  if (scales.shape.length !== expected.length || scales.shape.some((d, i) => d !== expected[i])) {
    throw new TensorShapeMismatchError(`${module}.scales`, expected, scales.shape);
  }
  return weight;
}

function quantizedTensor(module: string, weight: mx.array, scales: mx.array, biases: mx.array, plan: WeightLoadPlan): QuantizedTensor {
  if (!plan.quantization) {
    throw new ModelLoadError(
      `Tensor "${module}.scales" marks a quantized module, but config.json has no "quantization" block giving its bits and group size`,
    );
  }
  const params = quantizationFor(plan.quantization, module);
  if (params === false) {
    throw new ModelLoadError(`config.json says "${module}" is not quantized, but the checkpoint has "${module}.scales"`);
  }
  const packedWidth = weight.shape[weight.ndim - 1];
  const expectedGroups = (packedWidth * 32) / params.bits / params.groupSize;
  const expected = [...weight.shape.slice(0, -1), expectedGroups];
  if (String(weight.dtype) !== 'uint32' || !Number.isInteger(expectedGroups)) {
    throw new ModelLoadError(
      `Tensor "${module}.weight" (${String(weight.dtype)}, [${weight.shape.join(', ')}]) is not packed ${params.bits}-bit data in groups of ${params.groupSize}; check the "quantization" block of config.json`,
    );
  }
  for (const [part, array] of [['scales', scales], ['biases', biases]] as const) {
    if (array.shape.length !== expected.length || array.shape.some((d, i) => d !== expected[i])) {
      throw new TensorShapeMismatchError(`${module}.${part}`, expected, array.shape);
    }
  }
  return { weight, scales, biases, ...params };
}

/**
 * Bytes the weights in `files` occupy once `loadWeights` has converted them: on the CPU backend every
 * float is widened to float32 and dequantized modules expand to float32 matrices, so a bf16 or 4-bit
 * checkpoint takes two to eight times its file size there. Read from the headers alone, before loading.
 */
export async function loadedWeightBytes(
  files: string[],
  plan: Pick<WeightLoadPlan, 'keepQuantized' | 'keep' | 'quantization' | 'rename'>,
): Promise<number> {
  const onCpu = !mx.metal.isAvailable();
  const headers = await plannedHeaders(files, plan);
  const quantizedModules = new Set(headers.filter((t) => t.name.endsWith('.scales')).map((t) => t.name.slice(0, -'.scales'.length)));
  const elements = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);
  let total = 0;
  for (const tensor of headers) {
    const stored = elements(tensor.shape) * dtypeBytes(tensor.dtype);
    const isFloat = FLOAT_DTYPES.has(tensor.dtype);
    const dot = tensor.name.lastIndexOf('.');
    const module = tensor.name.slice(0, dot);
    const part = tensor.name.slice(dot + 1);
    // MXFP4 modules are expanded whatever the mode: the binding has no kernels for them.
    const expanded = !plan.keepQuantized || isMxfp4(plan.quantization, module);
    if (quantizedModules.has(module) && part === 'weight' && expanded) {
      const params = plan.quantization ? quantizationFor(plan.quantization, module) : false;
      const bits = params === false ? 32 : params.bits;
      // Packed uint32 words of `bits`-bit values become one float each.
      total += elements(tensor.shape) * (32 / bits) * (onCpu || isMxfp4(plan.quantization, module) ? 4 : 2);
    } else if (quantizedModules.has(module) && (part === 'scales' || part === 'biases') && expanded) {
      continue;
    } else {
      total += isFloat && onCpu ? elements(tensor.shape) * 4 : stored;
    }
  }
  return total;
}
