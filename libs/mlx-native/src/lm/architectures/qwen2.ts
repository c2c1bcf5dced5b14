import type { Architecture } from './architecture';
import { attention, buildDecoder, gatedMlp, preNorms, readDecoderConfig, ropeFromConfig } from './common';

/** Qwen2 / Qwen2.5: Llama with biases on the q, k and v projections (not on o_proj). */
export const qwen2: Architecture = {
  build(config, w) {
    const c = readDecoderConfig(config, { tieWordEmbeddings: false, eps: 1e-6 });
    const rope = ropeFromConfig(config, c);
    return buildDecoder(w, c, (_, path) => ({
      attention: attention(w, `${path}.self_attn`, c, { rope, qkvBias: true }),
      mlp: gatedMlp(w, `${path}.mlp`, c.hidden, c.intermediate),
      ...preNorms(w, path, c),
    }));
  },
};
