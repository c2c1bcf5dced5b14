import type { ModelConfig } from '../../io/model-config';
import type { WeightStore } from '../../io/weight-store';
import type { Attention } from '../../nn/attention';
import type { Architecture } from './architecture';
import { attention, buildDecoder, gatedMlp, preNorms, readDecoderConfig, ropeFromConfig, type DecoderConfig } from './common';

/** Qwen3's attention block builder: no q/k/v bias, but an RMSNorm over each query and key head before rotation. */
export function qwen3Attention(config: ModelConfig, w: WeightStore, c: DecoderConfig): (path: string) => Attention {
  const rope = ropeFromConfig(config, c);
  const bias = config.bool('attention_bias', false);
  return (path) =>
    attention(w, path, c, { rope, qkvBias: bias, outBias: bias, qkNorm: (module) => w.rmsNorm(module, c.headDim, c.eps) });
}

export const qwen3: Architecture = {
  build(config, w) {
    const c = readDecoderConfig(config, { tieWordEmbeddings: false, eps: 1e-6 });
    const selfAttention = qwen3Attention(config, w, c);
    return buildDecoder(w, c, (_, path) => ({
      attention: selfAttention(`${path}.self_attn`),
      mlp: gatedMlp(w, `${path}.mlp`, c.hidden, c.intermediate),
      ...preNorms(w, path, c),
    }));
  },
};
