import type { ModelConfig } from '../loading/model-config';
import type { WeightStore } from '../loading/weight-store';
import type { Architecture } from './architecture';
import { attention, buildDecoder, gatedMlp, preNorms, readDecoderConfig, ropeFromConfig, type DecoderConfig } from './common';

/** Qwen3 attention: no q/k/v bias, but an RMSNorm over each query and key head before rotation. */
export function qwen3Attention(config: ModelConfig, w: WeightStore, path: string, c: DecoderConfig) {
  return attention(w, path, c, {
    rope: ropeFromConfig(config, c),
    qkvBias: config.bool('attention_bias', false),
    outBias: config.bool('attention_bias', false),
    qkNorm: (weights, module) => weights.rmsNorm(module, c.headDim, c.eps),
  });
}

export const qwen3: Architecture = {
  build(config, w) {
    const c = readDecoderConfig(config, { tieWordEmbeddings: false, eps: 1e-6 });
    return buildDecoder(w, c, (_, path) => ({
      attention: qwen3Attention(config, w, `${path}.self_attn`, c),
      mlp: gatedMlp(w, `${path}.mlp`, c.hidden, c.intermediate),
      ...preNorms(w, path, c),
    }));
  },
};
