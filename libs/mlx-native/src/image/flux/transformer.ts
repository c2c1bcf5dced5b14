import { core as mx } from '@frost-beta/mlx';
import type { WeightStore } from '../../io/weight-store';
import { geluTanh, silu } from '../../nn/activations';
import { fullAttention, splitHeads } from '../../nn/full-attention';
import type { Linear, RMSNorm } from '../../nn/layers';
import { adaptiveParameters, modulatedLayerNorm } from '../../nn/norms';
import { sinusoidalEmbedding } from '../../nn/sinusoidal';
import type { FluxTransformerConfig } from './config';
import { applyFluxRope, fluxPositions, fluxRopeTable } from './rope';
import type { SliceRunner } from './slices';

/** FLUX's norms inside attention and around the blocks all use ε = 1e-6. */
const EPS = 1e-6;

/** (1 + scale) · LN(x) + shift, the adaptive norm of every block (its layer norm has no weights of its own). */
const modulate = (x: mx.array, shift: mx.array, scale: mx.array): mx.array => modulatedLayerNorm(x, shift, scale, EPS);

/** x [batch, length, hidden] → q, k, v [batch, length, hidden], from separate matrices or BFL's fused qkv. */
type Projection = (x: mx.array) => mx.array[];

function projection(weights: WeightStore, module: string, separate: string[], hidden: number, outputs: number[]): Projection {
  const fused = `${module}`;
  if (weights.hasModule(fused)) {
    const linear = weights.linear(fused, hidden, outputs.reduce((a, b) => a + b, 0), { bias: true });
    const cuts = outputs.slice(0, -1).map((_, i) => outputs.slice(0, i + 1).reduce((a, b) => a + b, 0));
    return (x) => mx.split(linear.forward(x), cuts, -1);
  }
  const linears = separate.map((name, i) => weights.linear(name, hidden, outputs[i], { bias: true }));
  return (x) => linears.map((linear) => linear.forward(x));
}

interface AttentionInputs {
  q: mx.array;
  k: mx.array;
  v: mx.array;
}

/** Split heads and RMS-normalise queries and keys per head (FLUX's QK norm). */
function heads(qkv: mx.array[], count: number, normQ: RMSNorm, normK: RMSNorm): AttentionInputs {
  const [q, k, v] = qkv.map((t) => splitHeads(t, count));
  return { q: normQ.forward(q), k: normK.forward(k), v };
}

class FeedForward {
  constructor(
    private readonly up: Linear,
    private readonly down: Linear,
  ) {}

  forward(x: mx.array): mx.array {
    return this.down.forward(geluTanh(this.up.forward(x)));
  }
}

/** Conditioning shared by every step of one image: text states through context_embedder, the rope table, pooled text. */
export interface FluxConditioning {
  text: mx.array;
  pooled: mx.array;
  rope: { cos: mx.array; sin: mx.array };
  /** FLUX.1-dev's guidance scale; ignored by models without a guidance embedder. */
  guidance: number;
}

/** A double-stream block: text and image tokens keep their own weights and meet in one joint attention. */
class DoubleStreamBlock {
  private readonly norm1: Linear;
  private readonly norm1Context: Linear;
  private readonly imageQkv: Projection;
  private readonly textQkv: Projection;
  private readonly norms: { q: RMSNorm; k: RMSNorm; addedQ: RMSNorm; addedK: RMSNorm };
  private readonly toOut: Linear;
  private readonly toAddOut: Linear;
  private readonly ff: FeedForward;
  private readonly ffContext: FeedForward;

  constructor(
    weights: WeightStore,
    prefix: string,
    private readonly c: FluxTransformerConfig,
  ) {
    const hidden = c.heads * c.headDim;
    const w = (name: string) => `${prefix}.${name}`;
    this.norm1 = weights.linear(w('norm1.linear'), hidden, 6 * hidden, { bias: true });
    this.norm1Context = weights.linear(w('norm1_context.linear'), hidden, 6 * hidden, { bias: true });
    this.imageQkv = projection(weights, w('attn.to_qkv'), ['to_q', 'to_k', 'to_v'].map((p) => w(`attn.${p}`)), hidden, [hidden, hidden, hidden]);
    this.textQkv = projection(weights, w('attn.to_added_qkv'), ['add_q_proj', 'add_k_proj', 'add_v_proj'].map((p) => w(`attn.${p}`)), hidden, [hidden, hidden, hidden]);
    this.norms = {
      q: weights.rmsNorm(w('attn.norm_q'), c.headDim, EPS),
      k: weights.rmsNorm(w('attn.norm_k'), c.headDim, EPS),
      addedQ: weights.rmsNorm(w('attn.norm_added_q'), c.headDim, EPS),
      addedK: weights.rmsNorm(w('attn.norm_added_k'), c.headDim, EPS),
    };
    this.toOut = weights.linear(w('attn.to_out.0'), hidden, hidden, { bias: true });
    this.toAddOut = weights.linear(w('attn.to_add_out'), hidden, hidden, { bias: true });
    const ff = (name: string) =>
      new FeedForward(weights.linear(w(`${name}.net.0.proj`), hidden, c.mlpHidden, { bias: true }), weights.linear(w(`${name}.net.2`), c.mlpHidden, hidden, { bias: true }));
    this.ff = ff('ff');
    this.ffContext = ff('ff_context');
  }

  forward(image: mx.array, text: mx.array, temb: mx.array, rope: FluxConditioning['rope']): [mx.array, mx.array] {
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = adaptiveParameters(this.norm1, temb, 6);
    const [cShiftMsa, cScaleMsa, cGateMsa, cShiftMlp, cScaleMlp, cGateMlp] = adaptiveParameters(this.norm1Context, temb, 6);
    const img = heads(this.imageQkv(modulate(image, shiftMsa, scaleMsa)), this.c.heads, this.norms.q, this.norms.k);
    const txt = heads(this.textQkv(modulate(text, cShiftMsa, cScaleMsa)), this.c.heads, this.norms.addedQ, this.norms.addedK);
    const q = applyFluxRope(mx.concatenate([txt.q, img.q], 2), rope);
    const k = applyFluxRope(mx.concatenate([txt.k, img.k], 2), rope);
    const v = mx.concatenate([txt.v, img.v], 2);
    const attended = fullAttention(q, k, v, 1 / Math.sqrt(this.c.headDim));
    const textLength = text.shape[1];
    const textAttention = attended.index(mx.Slice(), mx.Slice(0, textLength));
    const imageAttention = attended.index(mx.Slice(), mx.Slice(textLength));

    let imageOut = mx.add(image, mx.multiply(gateMsa, this.toOut.forward(imageAttention)));
    imageOut = mx.add(imageOut, mx.multiply(gateMlp, this.ff.forward(modulate(imageOut, shiftMlp, scaleMlp))));
    let textOut = mx.add(text, mx.multiply(cGateMsa, this.toAddOut.forward(textAttention)));
    textOut = mx.add(textOut, mx.multiply(cGateMlp, this.ffContext.forward(modulate(textOut, cShiftMlp, cScaleMlp))));
    return [imageOut, textOut];
  }
}

/** A single-stream block over the joint sequence: attention and MLP in parallel from one projection. */
class SingleStreamBlock {
  private readonly norm: Linear;
  private readonly project: Projection;
  private readonly normQ: RMSNorm;
  private readonly normK: RMSNorm;
  private readonly projOut: Linear;

  constructor(
    weights: WeightStore,
    prefix: string,
    private readonly c: FluxTransformerConfig,
  ) {
    const hidden = c.heads * c.headDim;
    const w = (name: string) => `${prefix}.${name}`;
    this.norm = weights.linear(w('norm.linear'), hidden, 3 * hidden, { bias: true });
    this.project = projection(weights, w('to_qkv_mlp'), [w('attn.to_q'), w('attn.to_k'), w('attn.to_v'), w('proj_mlp')], hidden, [hidden, hidden, hidden, c.mlpHidden]);
    this.normQ = weights.rmsNorm(w('attn.norm_q'), c.headDim, EPS);
    this.normK = weights.rmsNorm(w('attn.norm_k'), c.headDim, EPS);
    this.projOut = weights.linear(w('proj_out'), hidden + c.mlpHidden, hidden, { bias: true });
  }

  forward(x: mx.array, temb: mx.array, rope: FluxConditioning['rope']): mx.array {
    const [shift, scale, gate] = adaptiveParameters(this.norm, temb, 3);
    const [q, k, v, mlp] = this.project(modulate(x, shift, scale));
    const attention = heads([q, k, v], this.c.heads, this.normQ, this.normK);
    const attended = fullAttention(applyFluxRope(attention.q, rope), applyFluxRope(attention.k, rope), attention.v, 1 / Math.sqrt(this.c.headDim));
    const out = this.projOut.forward(mx.concatenate([attended, geluTanh(mlp)], -1));
    return mx.add(x, mx.multiply(gate, out));
  }
}

/** Two linears around a SiLU: the timestep, guidance and pooled-text embedders. */
class EmbedderMlp {
  constructor(
    private readonly first: Linear,
    private readonly second: Linear,
  ) {}

  static read(weights: WeightStore, module: string, inFeatures: number, hidden: number): EmbedderMlp {
    return new EmbedderMlp(weights.linear(`${module}.linear_1`, inFeatures, hidden, { bias: true }), weights.linear(`${module}.linear_2`, hidden, hidden, { bias: true }));
  }

  forward(x: mx.array): mx.array {
    return this.second.forward(silu(this.first.forward(x)));
  }
}

/**
 * FluxTransformer2DModel: latent patches and T5 states are embedded, pass through the double-stream
 * blocks side by side and the single-stream blocks as one sequence (text first), and the image part
 * is projected back to a velocity in packed-latent space. Every block is conditioned on the timestep,
 * pooled CLIP text and (dev) guidance through adaptive norms.
 */
export class FluxTransformer {
  private readonly xEmbedder: Linear;
  private readonly contextEmbedder: Linear;
  private readonly timeEmbedder: EmbedderMlp;
  private readonly guidanceEmbedder: EmbedderMlp | undefined;
  private readonly textEmbedder: EmbedderMlp;
  private readonly doubleBlocks: DoubleStreamBlock[];
  private readonly singleBlocks: SingleStreamBlock[];
  private readonly normOut: Linear;
  private readonly projOut: Linear;

  constructor(
    weights: WeightStore,
    readonly config: FluxTransformerConfig,
  ) {
    const c = config;
    const hidden = c.heads * c.headDim;
    this.xEmbedder = weights.linear('x_embedder', c.inChannels, hidden, { bias: true });
    this.contextEmbedder = weights.linear('context_embedder', c.jointAttentionDim, hidden, { bias: true });
    this.timeEmbedder = EmbedderMlp.read(weights, 'time_text_embed.timestep_embedder', c.timestepChannels, hidden);
    this.guidanceEmbedder = c.guidanceEmbeds ? EmbedderMlp.read(weights, 'time_text_embed.guidance_embedder', c.timestepChannels, hidden) : undefined;
    this.textEmbedder = EmbedderMlp.read(weights, 'time_text_embed.text_embedder', c.pooledProjectionDim, hidden);
    this.doubleBlocks = Array.from({ length: c.doubleBlocks }, (_, i) => new DoubleStreamBlock(weights, `transformer_blocks.${i}`, c));
    this.singleBlocks = Array.from({ length: c.singleBlocks }, (_, i) => new SingleStreamBlock(weights, `single_transformer_blocks.${i}`, c));
    // mflux saves since early 2026 lack this bias (their AdaLayerNormContinuous has none); diffusers, BFL and older mflux have it.
    this.normOut = weights.linear('norm_out.linear', hidden, 2 * hidden, { bias: weights.shapeOf('norm_out.linear.bias') !== undefined });
    this.projOut = weights.linear('proj_out', hidden, c.outChannels, { bias: true });
  }

  /** What every step of one image shares: T5 states embedded once, the rope table of its patch grid. */
  condition(textStates: mx.array, pooled: mx.array, patchRows: number, patchColumns: number, guidance: number): FluxConditioning {
    const text = this.contextEmbedder.forward(textStates);
    const rope = fluxRopeTable(fluxPositions(textStates.shape[1], patchRows, patchColumns), this.config.axesDimsRope, this.config.ropeTheta);
    mx.eval(text, rope.cos, rope.sin);
    return { text, pooled, rope, guidance };
  }

  /** The velocity at noise level `sigma` of packed latents [1, patches, inChannels]; one slice per block. */
  async forward(latents: mx.array, sigma: number, cond: FluxConditioning, run: SliceRunner): Promise<mx.array> {
    const temb = await run(() => this.embedding(sigma, cond));
    let image = await run(() => this.xEmbedder.forward(latents));
    let text = cond.text;
    for (const block of this.doubleBlocks) {
      [image, text] = await run(() => block.forward(image, text, temb, cond.rope));
    }
    let joint = mx.concatenate([text, image], 1);
    for (const block of this.singleBlocks) {
      joint = await run(() => block.forward(joint, temb, cond.rope));
    }
    const textLength = text.shape[1];
    return run(() => {
      const imageTokens = joint.index(mx.Slice(), mx.Slice(textLength));
      const [first, second] = adaptiveParameters(this.normOut, temb, 2);
      const [shift, scale] = this.config.finalModulation === 'scale-shift' ? [second, first] : [first, second];
      return this.projOut.forward(modulate(imageTokens, shift, scale));
    });
  }

  private embedding(sigma: number, cond: FluxConditioning): mx.array {
    // diffusers' get_timestep_embedding with flip_sin_to_cos and shift 0, of σ·1000.
    const features = (value: number) => sinusoidalEmbedding(mx.array([value], mx.float32), this.config.timestepChannels, { order: 'cos-sin', scale: 1000 });
    let temb = this.timeEmbedder.forward(features(sigma));
    if (this.guidanceEmbedder) {
      temb = mx.add(temb, this.guidanceEmbedder.forward(features(cond.guidance)));
    }
    return mx.add(temb, this.textEmbedder.forward(cond.pooled));
  }
}
