import type { Architecture } from './architecture';
import { attention, buildDecoder, gatedMlp, preNorms, readDecoderConfig, ropeFromConfig } from './common';

/** Llama 2/3 (and Mistral, which is Llama with other sizes): pre-norm, SwiGLU, grouped-query attention. */
export const llama: Architecture = {
  build(config, w) {
    const c = readDecoderConfig(config, { tieWordEmbeddings: false, eps: 1e-6 });
    const rope = ropeFromConfig(config, c);
    const attentionBias = config.bool('attention_bias', false);
    const mlpBias = config.bool('mlp_bias', false);
    return buildDecoder(w, c, (_, path) => ({
      attention: attention(w, `${path}.self_attn`, c, { rope, qkvBias: attentionBias, outBias: attentionBias }),
      mlp: gatedMlp(w, `${path}.mlp`, c.hidden, c.intermediate, { bias: mlpBias }),
      ...preNorms(w, path, c),
    }));
  },
};
