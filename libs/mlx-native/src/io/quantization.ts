import { InvalidModelConfigError } from './errors';
import { isJsonObject, ModelConfig } from './model-config';

export interface QuantizationParams {
  groupSize: number;
  bits: number;
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
  const mode = block.raw['mode'];
  if (mode !== undefined && mode !== 'affine') {
    throw new InvalidModelConfigError(config.source, `quantization mode "${String(mode)}" is not supported (only affine)`);
  }
  const params = (source: ModelConfig): QuantizationParams => {
    const bits = source.int('bits');
    if (!SUPPORTED_BITS.includes(bits)) {
      throw source.invalid('bits', `one of ${SUPPORTED_BITS.join(', ')}`);
    }
    return { groupSize: source.int('group_size'), bits };
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
  return quantization.overrides[module] ?? { groupSize: quantization.groupSize, bits: quantization.bits };
}
