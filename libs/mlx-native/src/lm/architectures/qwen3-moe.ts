import { GatedMlp, separateGateUp } from '../../nn/feed-forward';
import { swiGlu } from '../../nn/layers';
import { softmaxTopK, SparseMoe } from '../../nn/sparse-moe';
import type { Architecture } from './architecture';
import { buildDecoder, gatedMlp, preNorms, readDecoderConfig } from './common';
import { qwen3Attention } from './qwen3';

/**
 * Qwen3-MoE (Qwen3-30B-A3B, Qwen3-Coder-30B-A3B): Qwen3 attention; the MLP of every
 * `decoder_sparse_step`-th layer not listed in `mlp_only_layers` is a top-k mixture of
 * SwiGLU experts behind a linear router (`mlp.gate`).
 */
export const qwen3Moe: Architecture = {
  build(config, w) {
    const c = readDecoderConfig(config, { tieWordEmbeddings: false, eps: 1e-6 });
    const experts = config.int('num_experts');
    const topK = config.int('num_experts_per_tok');
    const expertWidth = config.int('moe_intermediate_size');
    const sparseStep = config.int('decoder_sparse_step', 1);
    const mlpOnly = new Set(config.intList('mlp_only_layers', []));
    const normTopKProb = config.bool('norm_topk_prob', false);
    const isSparse = (i: number) => experts > 0 && !mlpOnly.has(i) && (i + 1) % sparseStep === 0;
    const selfAttention = qwen3Attention(config, w, c);

    const moe = (path: string): SparseMoe => {
      const expert = (e: number): GatedMlp => {
        const proj = (name: string, inFeatures: number, outFeatures: number) =>
          w.expertLinear(path, name, e, experts, inFeatures, outFeatures);
        return new GatedMlp(
          separateGateUp(proj('gate_proj', c.hidden, expertWidth), proj('up_proj', c.hidden, expertWidth)),
          proj('down_proj', expertWidth, c.hidden),
          swiGlu,
        );
      };
      const router = w.linear(`${path}.gate`, c.hidden, experts);
      return new SparseMoe(softmaxTopK(router, topK, normTopKProb), Array.from({ length: experts }, (_, e) => expert(e)), topK);
    };

    return buildDecoder(w, c, (i, path) => ({
      attention: selfAttention(`${path}.self_attn`),
      mlp: isSparse(i) ? moe(`${path}.mlp`) : gatedMlp(w, `${path}.mlp`, c.hidden, c.intermediate),
      ...preNorms(w, path, c),
    }));
  },
};
