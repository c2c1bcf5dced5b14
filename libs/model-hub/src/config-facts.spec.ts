import type { JsonObject } from '@mlx-omni/model-families';
import { readContextLength, readQuantization } from './config-facts';

describe('readQuantization', () => {
  it("reads MLX's block, and other quantizers' quantization_config", () => {
    expect(readQuantization({ quantization: { group_size: 64, bits: 4, 'model.embed_tokens': { bits: 8 } } })).toEqual({ bits: 4, groupSize: 64 });
    expect(readQuantization({ quantization_config: { group_size: 128, bits: 8, quant_method: 'gptq' } })).toEqual({ bits: 8, groupSize: 128 });
  });

  it('is undefined for full-precision models and blocks without bits and group size', () => {
    expect(readQuantization({ torch_dtype: 'bfloat16' })).toBeUndefined();
    expect(readQuantization({ quantization_config: { quant_method: 'fp8' } })).toBeUndefined();
    expect(readQuantization(undefined)).toBeUndefined();
  });
});

describe('readContextLength', () => {
  it.each<[JsonObject, number | undefined]>([
    [{ max_position_embeddings: 40960 }, 40960],
    [{ n_positions: 1024 }, 1024],
    [{ model_type: 'gemma3', text_config: { max_position_embeddings: 131072 } }, 131072],
    [{ max_position_embeddings: 'long' }, undefined],
    [{ hidden_size: 64 }, undefined],
  ])('%j → %p', (config, length) => {
    expect(readContextLength(config)).toBe(length);
  });
});
