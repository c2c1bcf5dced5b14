import { GatedMlp, separateGateUp } from '../../nn/feed-forward';
import { swiGlu } from '../../nn/layers';
import { groupedSigmoidTopK, SparseMoe, SummedFeedForward } from '../../nn/sparse-moe';
import type { Architecture } from './architecture';
import { attention, buildDecoder, gatedMlp, preNorms, readDecoderConfig, ropeFromConfig } from './common';

/**
 * GLM-4.5 and GLM-4.5-Air: attention with q/k/v biases and rotary positions on the first
 * `partial_rotary_factor` of each head (optionally q/k norms); after `first_k_dense_replace`
 * dense layers, every MLP is a mixture of `n_routed_experts` routed by sigmoid scores with a
 * correction bias and group-limited top-k (DeepSeek-V3's `noaux_tc`), plus always-on shared
 * experts. The checkpoint's multi-token-prediction layer (index num_hidden_layers) is not loaded.
 */
export const glm4Moe: Architecture = {
  // The multi-token-prediction layer sits after the last decoder layer; generation never uses it.
  usesTensor: (name, config) => !name.startsWith(`model.layers.${config.int('num_hidden_layers')}.`),
  build(config, w) {
    const c = readDecoderConfig(config, { tieWordEmbeddings: false, eps: 1e-5 });
    const experts = config.int('n_routed_experts');
    const expertWidth = config.int('moe_intermediate_size');
    const topK = config.int('num_experts_per_tok');
    const denseLayers = config.int('first_k_dense_replace', 0);
    const sharedExperts = config.int('n_shared_experts', 0);
    const rope = ropeFromConfig(config, c, Math.floor(c.headDim * config.number('partial_rotary_factor', 0.5)));
    const bias = config.bool('attention_bias', false);
    const qkNorm = config.bool('use_qk_norm', false);

    const moe = (path: string) => {
      const proj = (name: string, e: number, inFeatures: number, outFeatures: number) => w.expertLinear(path, name, e, experts, inFeatures, outFeatures);
      const expert = (e: number) =>
        new GatedMlp(separateGateUp(proj('gate_proj', e, c.hidden, expertWidth), proj('up_proj', e, c.hidden, expertWidth)), proj('down_proj', e, expertWidth, c.hidden), swiGlu);
      const router = groupedSigmoidTopK({
        weight: w.tensor(`${path}.gate.weight`, [experts, c.hidden]),
        correctionBias: w.tensor(`${path}.gate.e_score_correction_bias`, [experts]),
        k: topK,
        groups: config.int('n_group', 1),
        topKGroups: config.int('topk_group', 1),
        normalize: config.bool('norm_topk_prob', true),
        scale: config.number('routed_scaling_factor', 1),
      });
      const routed = new SparseMoe(router, Array.from({ length: experts }, (_, e) => expert(e)), topK);
      return sharedExperts > 0 ? new SummedFeedForward([routed, gatedMlp(w, `${path}.shared_experts`, c.hidden, expertWidth * sharedExperts)]) : routed;
    };

    return buildDecoder(w, c, (i, path) => ({
      attention: attention(w, `${path}.self_attn`, c, {
        rope,
        qkvBias: bias,
        qkNorm: qkNorm ? (module) => w.rmsNorm(module, c.headDim, c.eps) : undefined,
      }),
      mlp: i < denseLayers ? gatedMlp(w, `${path}.mlp`, c.hidden, c.intermediate) : moe(`${path}.mlp`),
      ...preNorms(w, path, c),
    }));
  },
};
