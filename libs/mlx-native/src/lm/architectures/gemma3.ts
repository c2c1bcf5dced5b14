import { core as mx } from '@frost-beta/mlx';
import { InvalidModelConfigError } from '../../io/errors';
import type { ModelConfig } from '../../io/model-config';
import type { WeightStore } from '../../io/weight-store';
import { geluTanhGlu } from '../../nn/layers';
import { createRope } from '../../nn/rope';
import type { Architecture } from './architecture';
import { attention, buildDecoder, gatedMlp, readDecoderConfig, readRopeScaling } from './common';

/** Hugging Face's Gemma3TextConfig defaults; checkpoints (text_config especially) omit fields that have them. */
const GEMMA3_TEXT_DEFAULTS = {
  vocab_size: 262208,
  hidden_size: 2304,
  intermediate_size: 9216,
  num_hidden_layers: 26,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 256,
  rms_norm_eps: 1e-6,
  rope_theta: 1_000_000,
  rope_local_base_freq: 10_000,
  max_position_embeddings: 131072,
  query_pre_attn_scalar: 256,
  sliding_window: 4096,
  sliding_window_pattern: 6,
  tie_word_embeddings: true,
  model_type: 'gemma3_text',
};

/** Gemma keeps norm weights as offsets from one: the scale applied is 1 + weight. */
const unitOffset = (weight: mx.array): mx.array => mx.add(weight, mx.array(1, weight.dtype));

/**
 * Which layers attend locally: `layer_types` where the config lists them, else every layer but
 * each `sliding_window_pattern`-th (5 local : 1 global in the released models).
 */
function slidingLayers(config: ModelConfig, layers: number): boolean[] {
  const types = config.stringList('layer_types');
  if (types) {
    if (types.length !== layers) {
      throw new InvalidModelConfigError(config.source, `"layer_types" lists ${types.length} layers, num_hidden_layers is ${layers}`);
    }
    return types.map((t) => t === 'sliding_attention');
  }
  const pattern = config.int('sliding_window_pattern');
  return Array.from({ length: layers }, (_, i) => (i + 1) % pattern !== 0);
}

/**
 * Gemma 3 text decoder: sliding-window layers with their own rope base interleaved with global
 * ones (which alone take rope_scaling), q/k norms, four norms per layer (around both blocks),
 * GeGLU with tanh GELU, embeddings scaled by √hidden and tied to the output.
 */
function buildGemma3Text(textConfig: ModelConfig, w: WeightStore) {
  const config = textConfig.withDefaults(GEMMA3_TEXT_DEFAULTS);
  const c = readDecoderConfig(config, { tieWordEmbeddings: true, eps: 1e-6 });
  const window = config.int('sliding_window');
  const sliding = slidingLayers(config, c.layers);
  const localRope = createRope({
    dims: c.headDim,
    base: config.number('rope_local_base_freq'),
    traditional: false,
    maxPositionEmbeddings: c.contextLength,
  });
  const globalRope = createRope({
    dims: c.headDim,
    base: c.ropeTheta,
    traditional: false,
    scaling: readRopeScaling(config),
    maxPositionEmbeddings: c.contextLength,
  });
  const norm = (path: string, dim = c.hidden) => w.rmsNorm(path, dim, c.eps, unitOffset);
  // The reference implementations multiply by √hidden rounded to bfloat16 whatever the compute dtype.
  const embeddingScale = mx.array(Math.sqrt(c.hidden), mx.bfloat16).astype(mx.float32).item() as number;

  return buildDecoder(
    w,
    c,
    (i, path) => ({
      attention: attention(w, `${path}.self_attn`, c, {
        rope: sliding[i] ? localRope : globalRope,
        scale: config.number('query_pre_attn_scalar') ** -0.5,
        qkNorm: (module) => norm(module, c.headDim),
      }),
      mlp: gatedMlp(w, `${path}.mlp`, c.hidden, c.intermediate, { gating: geluTanhGlu }),
      inputNorm: norm(`${path}.input_layernorm`),
      postAttentionNorm: norm(`${path}.post_attention_layernorm`),
      preMlpNorm: norm(`${path}.pre_feedforward_layernorm`),
      postMlpNorm: norm(`${path}.post_feedforward_layernorm`),
      slidingWindow: sliding[i] ? window : undefined,
    }),
    { embeddingScale, normWeight: unitOffset },
  );
}

export const gemma3Text: Architecture = {
  build: buildGemma3Text,
};

const TEXT_TOWER = 'language_model.';

/** Gemma 3 multimodal checkpoints: the text tower under `language_model.`, its config under `text_config`. */
export const gemma3: Architecture = {
  build(config, w) {
    const textConfig = config.object('text_config');
    if (!textConfig) {
      throw new InvalidModelConfigError(config.source, 'model_type "gemma3" needs a "text_config" object');
    }
    return buildGemma3Text(textConfig, w.scoped(TEXT_TOWER));
  },
  usesTensor: (name) => name.startsWith(TEXT_TOWER),
};
