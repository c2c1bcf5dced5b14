import { objectAt, type JsonObject } from '@mlx-omni/model-families';

/** MLX's `quantization` block (mlx-lm writes it under both names); also read from other quantizers' `quantization_config`. */
export function readQuantization(config: JsonObject | undefined): { bits: number; groupSize: number } | undefined {
  const block = objectAt(config, 'quantization') ?? objectAt(config, 'quantization_config');
  const bits = block?.['bits'];
  const groupSize = block?.['group_size'];
  return typeof bits === 'number' && typeof groupSize === 'number' ? { bits, groupSize } : undefined;
}

// Families name the trained context differently (GPT-2: n_positions, Falcon/Qwen-1: seq_length);
// multimodal configs keep it in the text tower's config.
const CONTEXT_KEYS = ['max_position_embeddings', 'max_seq_len', 'n_positions', 'seq_length', 'n_ctx'];

export function readContextLength(config: JsonObject | undefined): number | undefined {
  for (const source of [config, objectAt(config, 'text_config')]) {
    for (const key of CONTEXT_KEYS) {
      const value = source?.[key];
      if (typeof value === 'number' && Number.isInteger(value) && value > 0) {
        return value;
      }
    }
  }
  return undefined;
}
