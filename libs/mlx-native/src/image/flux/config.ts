import { InvalidModelConfigError } from '../../io/errors';
import type { ModelConfig } from '../../io/model-config';
import type { ConvKernelLayout } from '../../nn/conv';
import type { FlowShift } from '../flow-sampler';
import type { ShapeIndex } from './shape-index';

/** FluxTransformer2DModel's dimensions (diffusers' transformer/config.json, or read off the tensors). */
export interface FluxTransformerConfig {
  /** Packed latent channels: the VAE's latent channels × 2 × 2. */
  inChannels: number;
  outChannels: number;
  heads: number;
  headDim: number;
  doubleBlocks: number;
  singleBlocks: number;
  /** Width of the T5 states (context_embedder's input). */
  jointAttentionDim: number;
  /** Width of CLIP's pooled output (the text embedder's input). */
  pooledProjectionDim: number;
  /** FLUX.1-dev's distilled guidance embedding; schnell has none. */
  guidanceEmbeds: boolean;
  /** The rotary split of each head between the (text index, row, column) axes; sums to headDim. */
  axesDimsRope: number[];
  ropeTheta: number;
  mlpHidden: number;
  /** Width of the sinusoidal timestep features fed to the time embedder. */
  timestepChannels: number;
  /**
   * Order of the two halves of the final adaptive norm's projection: diffusers stores (scale, shift),
   * BFL's final_layer.adaLN_modulation (shift, scale).
   */
  finalModulation: 'scale-shift' | 'shift-scale';
}

export interface ClipTextConfig {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  eps: number;
  activation: string;
}

export interface T5EncoderConfig {
  vocabSize: number;
  dModel: number;
  dKv: number;
  dFf: number;
  heads: number;
  layers: number;
  numBuckets: number;
  maxDistance: number;
  eps: number;
  /** The gated feed-forward's activation (T5 v1.1 `gated-gelu`: the tanh GELU). */
  activation: string;
}

export interface VaeDecoderConfig {
  latentChannels: number;
  outChannels: number;
  /** Per resolution level, finest first (diffusers' order); the decoder walks it backwards. */
  blockOutChannels: number[];
  layersPerBlock: number;
  groups: number;
  eps: number;
  scalingFactor: number;
  shiftFactor: number;
  midBlockAttention: boolean;
  postQuantConv: boolean;
}

/** The flow-match Euler schedule (scheduler_config.json): whether and how the sigmas shift with resolution. */
export type FlowScheduleConfig = FlowShift;

/** FLUX.1's values where a layout carries no config of its own (mflux saves, BFL files). */
export const FLUX_DEFAULTS = {
  ropeTheta: 10000,
  timestepChannels: 256,
  /** T5 v1.1's relative-position settings. */
  t5MaxDistance: 128,
  t5Eps: 1e-6,
  clipEps: 1e-5,
  /** CLIP ViT-L/14's text tower: 64-wide heads. */
  clipHeadDim: 64,
  /** FLUX.1's autoencoder: 32 groups, ε 1e-6, and its latent scale and shift. */
  vaeGroups: 32,
  vaeEps: 1e-6,
  vaeScalingFactor: 0.3611,
  vaeShiftFactor: 0.1159,
} as const;

/** FLUX.1 splits 128-wide heads 16/56/56 between its three position axes; the same proportions for other widths. */
export function fluxRopeAxes(headDim: number): number[] {
  const first = headDim / 8;
  return [first, (headDim - first) / 2, (headDim - first) / 2];
}

export function transformerConfigFromJson(c: ModelConfig): FluxTransformerConfig {
  const heads = c.int('num_attention_heads');
  const headDim = c.int('attention_head_dim');
  const inChannels = c.int('in_channels');
  const patch = c.int('patch_size', 1);
  if (patch !== 1) {
    throw c.invalid('patch_size', '1 (FLUX packs 2×2 latent patches itself)');
  }
  const axes = c.intList('axes_dims_rope', fluxRopeAxes(headDim));
  if (axes.reduce((a, b) => a + b, 0) !== headDim || axes.length !== 3) {
    throw c.invalid('axes_dims_rope', `three widths summing to attention_head_dim (${headDim})`);
  }
  return {
    inChannels,
    outChannels: c.has('out_channels') ? c.int('out_channels') : inChannels,
    heads,
    headDim,
    doubleBlocks: c.int('num_layers'),
    singleBlocks: c.int('num_single_layers'),
    jointAttentionDim: c.int('joint_attention_dim'),
    pooledProjectionDim: c.int('pooled_projection_dim'),
    guidanceEmbeds: c.bool('guidance_embeds', false),
    axesDimsRope: axes,
    ropeTheta: FLUX_DEFAULTS.ropeTheta,
    mlpHidden: heads * headDim * 4,
    timestepChannels: FLUX_DEFAULTS.timestepChannels,
    finalModulation: 'scale-shift',
  };
}

/** Read off the tensors (named as diffusers names them once renamed). */
export function transformerConfigFromShapes(s: ShapeIndex, finalModulation: FluxTransformerConfig['finalModulation']): FluxTransformerConfig {
  const [hidden, inChannels] = s.shape('x_embedder.weight');
  const headDim = s.dim('transformer_blocks.0.attn.norm_q.weight', 0);
  const single = (i: number) => `single_transformer_blocks.${i}.norm.linear.weight`;
  return {
    inChannels,
    outChannels: s.dim('proj_out.weight', 0),
    heads: hidden / headDim,
    headDim,
    doubleBlocks: s.count((i) => `transformer_blocks.${i}.norm1.linear.weight`),
    singleBlocks: s.count(single),
    jointAttentionDim: s.dim('context_embedder.weight', 1),
    pooledProjectionDim: s.dim('time_text_embed.text_embedder.linear_1.weight', 1),
    guidanceEmbeds: s.has('time_text_embed.guidance_embedder.linear_1.weight'),
    axesDimsRope: fluxRopeAxes(headDim),
    ropeTheta: FLUX_DEFAULTS.ropeTheta,
    mlpHidden: s.dim('transformer_blocks.0.ff.net.0.proj.weight', 0),
    timestepChannels: s.dim('time_text_embed.timestep_embedder.linear_1.weight', 1),
    finalModulation,
  };
}

export function clipConfigFromJson(c: ModelConfig): ClipTextConfig {
  // CLIPConfig nests the text tower; CLIPTextConfig is the tower itself.
  const text = c.object('text_config') ?? c;
  return {
    vocabSize: text.int('vocab_size'),
    hidden: text.int('hidden_size'),
    layers: text.int('num_hidden_layers'),
    heads: text.int('num_attention_heads'),
    intermediate: text.int('intermediate_size'),
    maxPositions: text.int('max_position_embeddings'),
    eps: text.number('layer_norm_eps', FLUX_DEFAULTS.clipEps),
    activation: text.string('hidden_act', 'quick_gelu'),
  };
}

export function clipConfigFromShapes(s: ShapeIndex): ClipTextConfig {
  const [vocabSize, hidden] = s.shape('text_model.embeddings.token_embedding.weight');
  return {
    vocabSize,
    hidden,
    layers: s.count((i) => `text_model.encoder.layers.${i}.self_attn.q_proj.weight`),
    heads: hidden / FLUX_DEFAULTS.clipHeadDim,
    intermediate: s.dim('text_model.encoder.layers.0.mlp.fc1.weight', 0),
    maxPositions: s.dim('text_model.embeddings.position_embedding.weight', 0),
    eps: FLUX_DEFAULTS.clipEps,
    activation: 'quick_gelu',
  };
}

const T5_ACTIVATIONS: Record<string, string> = { 'gated-gelu': 'gelu_new', 'gated-gelu_new': 'gelu_new', 'gated-silu': 'silu', 'gated-relu': 'relu' };

export function t5ConfigFromJson(c: ModelConfig): T5EncoderConfig {
  const projection = c.string('feed_forward_proj', 'gated-gelu');
  const activation = T5_ACTIVATIONS[projection];
  if (activation === undefined) {
    throw new InvalidModelConfigError(c.source, `feed_forward_proj "${projection}" is not supported (T5 v1.1 encoders use a gated one: ${Object.keys(T5_ACTIVATIONS).join(', ')})`);
  }
  return {
    vocabSize: c.int('vocab_size'),
    dModel: c.int('d_model'),
    dKv: c.int('d_kv'),
    dFf: c.int('d_ff'),
    heads: c.int('num_heads'),
    layers: c.int('num_layers'),
    numBuckets: c.int('relative_attention_num_buckets', 32),
    maxDistance: c.int('relative_attention_max_distance', FLUX_DEFAULTS.t5MaxDistance),
    eps: c.number('layer_norm_epsilon', FLUX_DEFAULTS.t5Eps),
    activation,
  };
}

export function t5ConfigFromShapes(s: ShapeIndex): T5EncoderConfig {
  const [vocabSize, dModel] = s.shape('shared.weight');
  const [numBuckets, heads] = s.shape('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
  return {
    vocabSize,
    dModel,
    dKv: s.dim('encoder.block.0.layer.0.SelfAttention.q.weight', 0) / heads,
    dFf: s.dim('encoder.block.0.layer.1.DenseReluDense.wi_0.weight', 0),
    heads,
    layers: s.count((i) => `encoder.block.${i}.layer.0.SelfAttention.q.weight`),
    numBuckets,
    maxDistance: FLUX_DEFAULTS.t5MaxDistance,
    eps: FLUX_DEFAULTS.t5Eps,
    activation: 'gelu_new',
  };
}

export function vaeConfigFromJson(c: ModelConfig): VaeDecoderConfig {
  const blockOutChannels = c.intList('block_out_channels', [64]);
  return {
    latentChannels: c.int('latent_channels'),
    outChannels: c.int('out_channels', 3),
    blockOutChannels,
    layersPerBlock: c.int('layers_per_block', 1),
    groups: c.int('norm_num_groups', 32),
    eps: FLUX_DEFAULTS.vaeEps,
    scalingFactor: c.number('scaling_factor'),
    shiftFactor: c.has('shift_factor') ? c.number('shift_factor') : 0,
    midBlockAttention: c.bool('mid_block_add_attention', true),
    postQuantConv: c.bool('use_post_quant_conv', true),
  };
}

export function vaeConfigFromShapes(s: ShapeIndex, layout: ConvKernelLayout): VaeDecoderConfig {
  const levels = s.count((i) => `decoder.up_blocks.${i}.resnets.0.conv1.weight`);
  // up_blocks run coarsest first; block_out_channels are listed finest first.
  const channels = Array.from({ length: levels }, (_, i) => s.dim(`decoder.up_blocks.${levels - 1 - i}.resnets.0.conv2.weight`, 0));
  const convIn = s.shape('decoder.conv_in.weight');
  return {
    latentChannels: layout === 'oihw' ? convIn[1] : convIn[3],
    outChannels: s.dim('decoder.conv_out.weight', 0),
    blockOutChannels: channels,
    layersPerBlock: s.count((i) => `decoder.up_blocks.0.resnets.${i}.conv1.weight`) - 1,
    groups: FLUX_DEFAULTS.vaeGroups,
    eps: FLUX_DEFAULTS.vaeEps,
    scalingFactor: FLUX_DEFAULTS.vaeScalingFactor,
    shiftFactor: FLUX_DEFAULTS.vaeShiftFactor,
    midBlockAttention: s.has('decoder.mid_block.attentions.0.to_q.weight'),
    postQuantConv: false,
  };
}

const DEFAULT_SCHEDULE: FlowScheduleConfig = { dynamicShift: false, shift: 1, baseShift: 0.5, maxShift: 1.15, baseSeqLen: 256, maxSeqLen: 4096 };

export function scheduleFromJson(c: ModelConfig): FlowScheduleConfig {
  return {
    dynamicShift: c.bool('use_dynamic_shifting', false),
    shift: c.number('shift', 1),
    baseShift: c.number('base_shift', DEFAULT_SCHEDULE.baseShift),
    maxShift: c.number('max_shift', DEFAULT_SCHEDULE.maxShift),
    baseSeqLen: c.int('base_image_seq_len', DEFAULT_SCHEDULE.baseSeqLen),
    maxSeqLen: c.int('max_image_seq_len', DEFAULT_SCHEDULE.maxSeqLen),
  };
}

/** BFL's and mflux's schedule: dev shifts with resolution, schnell not at all. */
export function defaultSchedule(guidanceDistilled: boolean): FlowScheduleConfig {
  return { ...DEFAULT_SCHEDULE, dynamicShift: guidanceDistilled };
}
