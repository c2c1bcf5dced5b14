import type { core as mx } from '@frost-beta/mlx';
import { InvalidModelConfigError } from '../../io/errors';
import type { ModelConfig } from '../../io/model-config';
import type { WeightStore } from '../../io/weight-store';
import { Attention, separateQkv, type QkvProjection } from '../../nn/attention';
import { DecoderLayer, DecoderModel, type DecoderLayerParts } from '../decoder';
import { GatedMlp, separateGateUp } from '../../nn/feed-forward';
import { swiGlu, type Gating, type RMSNorm } from '../../nn/layers';
import { createRope, type Rope, type RopeScaling } from '../../nn/rope';

/** The config.json fields every decoder here shares, with Hugging Face's defaults. */
export interface DecoderConfig {
  modelType: string;
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  eps: number;
  ropeTheta: number;
  contextLength: number;
  tieWordEmbeddings: boolean;
}

export function readDecoderConfig(config: ModelConfig, defaults: { tieWordEmbeddings: boolean; eps: number }): DecoderConfig {
  const hidden = config.int('hidden_size');
  const heads = config.int('num_attention_heads');
  return {
    modelType: config.string('model_type'),
    vocabSize: config.int('vocab_size'),
    hidden,
    layers: config.int('num_hidden_layers'),
    heads,
    kvHeads: config.int('num_key_value_heads', heads),
    headDim: config.int('head_dim', hidden / heads),
    intermediate: config.int('intermediate_size'),
    eps: config.number('rms_norm_eps', defaults.eps),
    ropeTheta: config.number('rope_theta', 10000),
    contextLength: config.int('max_position_embeddings', 2048),
    tieWordEmbeddings: config.bool('tie_word_embeddings', defaults.tieWordEmbeddings),
  };
}

const ROPE_TYPES = ['default', 'linear', 'dynamic', 'llama3', 'yarn'];

/** `rope_scaling` of config.json (older checkpoints say `type`, newer `rope_type`). */
export function readRopeScaling(config: ModelConfig): RopeScaling | undefined {
  const scaling = config.object('rope_scaling');
  if (!scaling) {
    return undefined;
  }
  const type = scaling.string('rope_type', scaling.has('type') ? scaling.string('type') : 'default');
  switch (type) {
    case 'default':
      return undefined;
    case 'linear':
    case 'dynamic':
      return { type, factor: scaling.number('factor') };
    case 'llama3':
      return {
        type,
        factor: scaling.number('factor'),
        lowFreqFactor: scaling.number('low_freq_factor', 1),
        highFreqFactor: scaling.number('high_freq_factor', 4),
        originalMaxPositionEmbeddings: scaling.int('original_max_position_embeddings', 8192),
      };
    case 'yarn':
      return {
        type,
        factor: scaling.number('factor'),
        originalMaxPositionEmbeddings: scaling.int('original_max_position_embeddings', 4096),
        betaFast: scaling.number('beta_fast', 32),
        betaSlow: scaling.number('beta_slow', 1),
        truncate: scaling.bool('truncate', true),
      };
    default:
      throw new InvalidModelConfigError(
        scaling.source,
        `rope_scaling type "${type}" is not supported (supported: ${ROPE_TYPES.join(', ')})`,
      );
  }
}

export function ropeFromConfig(config: ModelConfig, c: DecoderConfig, dims = c.headDim): Rope {
  return createRope({
    dims,
    base: c.ropeTheta,
    traditional: false,
    scaling: readRopeScaling(config),
    maxPositionEmbeddings: c.contextLength,
  });
}

export interface AttentionOptions {
  rope: Rope;
  qkvBias?: boolean;
  outBias?: boolean;
  /** Builds the per-head q/k RMSNorm (`q_norm`, `k_norm`) at a module path. */
  qkNorm?: (module: string) => RMSNorm;
  /** Default 1/√headDim. */
  scale?: number;
  qkv?: QkvProjection;
  /** Attention sinks [heads] at `<path>.sinks` (gpt-oss). */
  sinks?: boolean;
}

/** `self_attn` with q_proj/k_proj/v_proj/o_proj, as Llama and most of its descendants name them. */
export function attention(w: WeightStore, path: string, c: DecoderConfig, options: AttentionOptions): Attention {
  const queryWidth = c.heads * c.headDim;
  const kvWidth = c.kvHeads * c.headDim;
  const bias = options.qkvBias ?? false;
  return new Attention({
    qkv:
      options.qkv ??
      separateQkv(
        w.linear(`${path}.q_proj`, c.hidden, queryWidth, { bias }),
        w.linear(`${path}.k_proj`, c.hidden, kvWidth, { bias }),
        w.linear(`${path}.v_proj`, c.hidden, kvWidth, { bias }),
      ),
    out: w.linear(`${path}.o_proj`, queryWidth, c.hidden, { bias: options.outBias ?? false }),
    heads: c.heads,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    scale: options.scale ?? 1 / Math.sqrt(c.headDim),
    rope: options.rope,
    queryNorm: options.qkNorm?.(`${path}.q_norm`),
    keyNorm: options.qkNorm?.(`${path}.k_norm`),
    sinks: options.sinks ? w.tensor(`${path}.sinks`, [c.heads]) : undefined,
  });
}

/** `mlp` with gate_proj/up_proj/down_proj. */
export function gatedMlp(
  w: WeightStore,
  path: string,
  hidden: number,
  intermediate: number,
  options: { gating?: Gating; bias?: boolean } = {},
): GatedMlp {
  const bias = options.bias ?? false;
  return new GatedMlp(
    separateGateUp(
      w.linear(`${path}.gate_proj`, hidden, intermediate, { bias }),
      w.linear(`${path}.up_proj`, hidden, intermediate, { bias }),
    ),
    w.linear(`${path}.down_proj`, intermediate, hidden, { bias }),
    options.gating ?? swiGlu,
  );
}

/**
 * The decoder every architecture here shares: `model.embed_tokens`, `model.layers.<i>`,
 * `model.norm`, and `lm_head` unless tied. `layer` builds block i from its weight path.
 */
export function buildDecoder(
  w: WeightStore,
  c: DecoderConfig,
  layer: (index: number, path: string) => DecoderLayerParts,
  options: { embeddingScale?: number; normWeight?: (weight: mx.array) => mx.array } = {},
): DecoderModel {
  const embedding = w.embedding('model.embed_tokens', c.vocabSize, c.hidden);
  return new DecoderModel({
    modelType: c.modelType,
    vocabSize: c.vocabSize,
    contextLength: c.contextLength,
    embedding,
    embeddingScale: options.embeddingScale,
    layers: Array.from({ length: c.layers }, (_, i) => new DecoderLayer(layer(i, `model.layers.${i}`))),
    norm: w.rmsNorm('model.norm', c.hidden, c.eps, options.normWeight),
    lmHead: c.tieWordEmbeddings ? undefined : w.linear('lm_head', c.hidden, c.vocabSize),
  });
}

/** Llama's two norms per layer: input_layernorm before attention, post_attention_layernorm before the MLP. */
export function preNorms(w: WeightStore, path: string, c: DecoderConfig): Pick<DecoderLayerParts, 'inputNorm' | 'preMlpNorm'> {
  return {
    inputNorm: w.rmsNorm(`${path}.input_layernorm`, c.hidden, c.eps),
    preMlpNorm: w.rmsNorm(`${path}.post_attention_layernorm`, c.hidden, c.eps),
  };
}
