import { fusedQkv } from '../../nn/attention';
import { fusedGateUp, GatedMlp } from '../../nn/feed-forward';
import { swiGlu } from '../../nn/layers';
import type { Architecture } from './architecture';
import { attention, buildDecoder, preNorms, readDecoderConfig, ropeFromConfig } from './common';

/** Phi-3: Llama's layer with q/k/v fused into `qkv_proj` and gate/up fused into `gate_up_proj`. */
export const phi3: Architecture = {
  build(config, w) {
    const c = readDecoderConfig(config, { tieWordEmbeddings: false, eps: 1e-5 });
    const rotaryDims = Math.floor(c.headDim * config.number('partial_rotary_factor', 1));
    const rope = ropeFromConfig(config, c, rotaryDims);
    const queryWidth = c.heads * c.headDim;
    const kvWidth = c.kvHeads * c.headDim;
    return buildDecoder(w, c, (_, path) => ({
      attention: attention(w, `${path}.self_attn`, c, {
        rope,
        qkv: fusedQkv(w.linear(`${path}.self_attn.qkv_proj`, c.hidden, queryWidth + 2 * kvWidth), queryWidth, kvWidth),
      }),
      mlp: new GatedMlp(
        fusedGateUp(w.linear(`${path}.mlp.gate_up_proj`, c.hidden, 2 * c.intermediate)),
        w.linear(`${path}.mlp.down_proj`, c.intermediate, c.hidden),
        swiGlu,
      ),
      ...preNorms(w, path, c),
    }));
  },
};
