import { InvalidModelConfigError } from './errors';
import { isJsonObject, ModelConfig } from './model-config';

/**
 * `affine`: MLX's integer codes with a float scale and bias per group. `mxfp4`: OCP microscaling
 * FP4 (E2M1 codes, one power-of-two E8M0 scale per 32 values, no bias), which gpt-oss ships its
 * experts in and mlx-community keeps.
 */
export type QuantizationMode = 'affine' | 'mxfp4';

export interface QuantizationParams {
  groupSize: number;
  bits: number;
  mode: QuantizationMode;
}

/**
 * MLX affine quantization as mlx-lm writes it into config.json: a default group size and bit
 * width, plus per-module entries (keyed by the module's path in the checkpoint) that override
 * them, or say `false` for a module left unquantized.
 */
export interface QuantizationConfig extends QuantizationParams {
  overrides: Record<string, QuantizationParams | false>;
}

/** What the binding's MLX kernels implement (newer mlx-lm also writes 3, 5 and 6 bits). */
const SUPPORTED_BITS = [2, 4, 8];

export function parseQuantization(config: ModelConfig): QuantizationConfig | undefined {
  const block = config.object('quantization') ?? config.object('quantization_config');
  if (!block) {
    return undefined;
  }
  const params = (source: ModelConfig): QuantizationParams => {
    const mode = source.string('mode', 'affine');
    if (mode === 'mxfp4') {
      if (source.int('bits', 4) !== 4 || source.int('group_size', 32) !== 32) {
        throw source.invalid('bits', 'mxfp4 with bits 4 and group_size 32');
      }
      return { groupSize: 32, bits: 4, mode };
    }
    if (mode !== 'affine') {
      throw new InvalidModelConfigError(source.source, `quantization mode "${mode}" is not supported (supported: affine, mxfp4)`);
    }
    const bits = source.int('bits');
    if (!SUPPORTED_BITS.includes(bits)) {
      throw source.invalid('bits', `one of ${SUPPORTED_BITS.join(', ')}`);
    }
    return { groupSize: source.int('group_size'), bits, mode };
  };
  const overrides: Record<string, QuantizationParams | false> = {};
  for (const [key, value] of Object.entries(block.raw)) {
    if (value === false) {
      overrides[key] = false;
    } else if (isJsonObject(value)) {
      overrides[key] = params(new ModelConfig(value, `${block.source} → ${key}`));
    }
  }
  return { ...params(block), overrides };
}

/** Parameters for one module: its override if any, else the defaults. */
export function quantizationFor(quantization: QuantizationConfig, module: string): QuantizationParams | false {
  return quantization.overrides[module] ?? { groupSize: quantization.groupSize, bits: quantization.bits, mode: quantization.mode };
}

/**
 * MLX affine quantization of a checkpoint that records only its bit width (mflux writes
 * `quantization_level` into the safetensors metadata, no config.json): each quantized module's group
 * size follows from its shapes, packed width · 32 / bits inputs in scales-width groups.
 */
export function quantizationFromShapes(tensors: ReadonlyArray<{ name: string; shape: readonly number[] }>, bits: number): QuantizationConfig {
  if (!SUPPORTED_BITS.includes(bits)) {
    throw new InvalidModelConfigError('safetensors metadata', `quantization_level ${bits} is not supported (one of ${SUPPORTED_BITS.join(', ')})`);
  }
  const shapes = new Map(tensors.map((t) => [t.name, t.shape]));
  const overrides: Record<string, QuantizationParams> = {};
  const sizes = new Map<number, number>();
  for (const [name, scales] of shapes) {
    if (!name.endsWith('.scales')) {
      continue;
    }
    const module = name.slice(0, -'.scales'.length);
    const packed = shapes.get(`${module}.weight`);
    if (packed === undefined) {
      continue;
    }
    const inputs = (packed[packed.length - 1] * 32) / bits;
    const groupSize = inputs / scales[scales.length - 1];
    overrides[module] = { groupSize, bits, mode: 'affine' };
    sizes.set(groupSize, (sizes.get(groupSize) ?? 0) + 1);
  }
  const common = [...sizes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 64;
  return { groupSize: common, bits, mode: 'affine', overrides };
}
