import { core as mx } from '@frost-beta/mlx';
import { InvalidModelConfigError } from '../../io/errors';
import type { ModelConfig } from '../../io/model-config';
import { GatedMlp, separateGateUp } from '../../nn/feed-forward';
import type { Gating } from '../../nn/layers';
import { SparseMoe, topKSoftmax } from '../../nn/sparse-moe';
import type { Architecture } from './architecture';
import { attention, buildDecoder, preNorms, readDecoderConfig, ropeFromConfig } from './common';

/**
 * gpt-oss's SwiGLU: the gate clamped from above and the linear half on both sides at `limit`,
 * σ(α·gate) with α = 1.702, and one added to the linear half (OpenAI's reference and mlx-lm alike).
 */
export function clampedSwiGlu(limit: number, alpha = 1.702): Gating {
  return mx.compile((gate: mx.array, up: mx.array) => {
    const g = mx.minimum(gate, limit);
    const u = mx.clip(up, -limit, limit);
    return mx.multiply(mx.multiply(g, mx.sigmoid(mx.multiply(g, alpha))), mx.add(u, 1));
  });
}

/** Alternating local and global layers: `layer_types` when listed, else sliding first, as the released configs have it. */
function slidingLayers(config: ModelConfig, layers: number): boolean[] {
  const types = config.stringList('layer_types') ?? Array.from({ length: layers }, (_, i) => (i % 2 === 0 ? 'sliding_attention' : 'full_attention'));
  if (types.length !== layers) {
    throw new InvalidModelConfigError(config.source, `"layer_types" lists ${types.length} layers, num_hidden_layers is ${layers}`);
  }
  return types.map((type) => type === 'sliding_attention');
}

/**
 * gpt-oss-20b/120b: attention with biases and a learned sink logit per head, sliding-window
 * layers (window 128) alternating with full ones, YaRN rope, and a mixture of experts in every
 * layer: a biased linear router picks the top k, a softmax over those k weights them, and each
 * expert is a biased SwiGLU with clamping. Expert weights are stacked under `mlp.experts`, as
 * mlx-community ships them (MXFP4 experts are expanded at load; see load-weights).
 */
export const gptOss: Architecture = {
  build(config, w) {
    const c = readDecoderConfig(config, { tieWordEmbeddings: false, eps: 1e-5 });
    const experts = config.int('num_local_experts');
    const topK = config.int('num_experts_per_tok', config.int('experts_per_token', 4));
    const window = config.int('sliding_window');
    const sliding = slidingLayers(config, c.layers);
    const gating = clampedSwiGlu(config.number('swiglu_limit', 7));
    const rope = ropeFromConfig(config, c);

    const moe = (path: string): SparseMoe => {
      const proj = (name: string, e: number, inFeatures: number, outFeatures: number) =>
        w.expertLinear(path, name, e, experts, inFeatures, outFeatures, { bias: true });
      const expert = (e: number) =>
        new GatedMlp(separateGateUp(proj('gate_proj', e, c.hidden, c.intermediate), proj('up_proj', e, c.hidden, c.intermediate)), proj('down_proj', e, c.intermediate, c.hidden), gating);
      const router = w.linear(`${path}.router`, c.hidden, experts, { bias: true });
      return new SparseMoe(topKSoftmax(router, topK), Array.from({ length: experts }, (_, e) => expert(e)), topK);
    };

    return buildDecoder(w, c, (i, path) => ({
      attention: attention(w, `${path}.self_attn`, c, { rope, qkvBias: true, outBias: true, sinks: true }),
      mlp: moe(`${path}.mlp`),
      ...preNorms(w, path, c),
      slidingWindow: sliding[i] ? window : undefined,
    }));
  },
};
