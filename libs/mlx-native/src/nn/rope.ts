import { core as mx } from '@frost-beta/mlx';

/** Rotary position embedding of queries or keys [batch, heads, length, headDim] starting at `offset`. */
export interface Rope {
  apply(x: mx.array, offset: number): mx.array;
  /**
   * One token per row, each at its own position (a continuous batch): x [rows, heads, 1, headDim], row r
   * at `positions[r]`. One rotation for the whole batch rather than one call per row.
   */
  applyRows(x: mx.array, positions: readonly number[]): mx.array;
}

/** `rope_scaling` of config.json, as Hugging Face checkpoints spell it. */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'dynamic'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    }
  | {
      /** YaRN (gpt-oss, DeepSeek-V3): NTK-by-parts interpolation and a scaled attention temperature. */
      type: 'yarn';
      factor: number;
      originalMaxPositionEmbeddings: number;
      betaFast: number;
      betaSlow: number;
      /** Round the correction range to whole dimensions (Hugging Face's default; gpt-oss says false). */
      truncate: boolean;
    };

export interface RopeSpec {
  /** Leading dimensions of each head that rotate (the rest pass through, as with partial_rotary_factor). */
  dims: number;
  base: number;
  /** Interleaved pairs (GPT-J) instead of rotate-half (GPT-NeoX, every Hugging Face model here). */
  traditional: boolean;
  scaling?: RopeScaling;
  maxPositionEmbeddings: number;
}

export function createRope(spec: RopeSpec): Rope {
  const { dims, base, traditional, scaling } = spec;
  switch (scaling?.type) {
    case undefined:
      return new FastRope(dims, traditional, () => base, 1);
    case 'linear':
      return new FastRope(dims, traditional, () => base, 1 / scaling.factor);
    case 'dynamic':
      return new FastRope(dims, traditional, (end) => dynamicNtkBase(base, dims, scaling.factor, spec.maxPositionEmbeddings, end), 1);
    case 'llama3':
      if (traditional) {
        throw new Error('llama3 rope scaling is defined for rotate-half rotary embeddings only');
      }
      return new FrequencyTableRope(dims, llama3Frequencies(dims, base, scaling));
    case 'yarn':
      if (traditional) {
        throw new Error('yarn rope scaling is implemented for rotate-half rotary embeddings only');
      }
      return new FrequencyTableRope(dims, yarnFrequencies(dims, base, scaling), yarnAttentionFactor(scaling.factor));
  }
}

/**
 * YaRN's inverse frequencies (Hugging Face `_compute_yarn_parameters`): dimensions that turn
 * fewer than `betaSlow` times over the original context are interpolated (divided by `factor`),
 * those that turn more than `betaFast` times are kept, with a linear ramp between.
 */
export function yarnFrequencies(dims: number, base: number, scaling: Extract<RopeScaling, { type: 'yarn' }>): Float32Array {
  const { factor, originalMaxPositionEmbeddings: context, betaFast, betaSlow, truncate } = scaling;
  const correctionDim = (rotations: number) => (dims * Math.log(context / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
  let low = correctionDim(betaFast);
  let high = correctionDim(betaSlow);
  if (truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dims - 1);
  const span = low === high ? 0.001 : high - low;
  const freqs = new Float32Array(dims / 2);
  for (let i = 0; i < freqs.length; i++) {
    const extrapolated = 1 / base ** ((2 * i) / dims);
    const ramp = Math.min(Math.max((i - low) / span, 0), 1);
    const keep = 1 - ramp;
    freqs[i] = (extrapolated / factor) * (1 - keep) + extrapolated * keep;
  }
  return freqs;
}

/** YaRN's attention temperature: cos and sin (so queries and keys) scaled by 0.1·ln(factor) + 1. */
function yarnAttentionFactor(factor: number): number {
  return factor <= 1 ? 1 : 0.1 * Math.log(factor) + 1;
}

/** The binding's fused kernel: frequencies base^(-2i/dims), positions multiplied by `scale`. */
class FastRope implements Rope {
  constructor(
    private readonly dims: number,
    private readonly traditional: boolean,
    private readonly baseFor: (sequenceEnd: number) => number,
    private readonly scale: number,
  ) {}

  private readonly tables = new Map<number, FrequencyTableRope>();

  apply(x: mx.array, offset: number): mx.array {
    const base = this.baseFor(offset + x.shape[2]);
    return mx.fast.rope(x, this.dims, this.traditional, base, this.scale, offset);
  }

  /** The same frequencies as a table; rows whose positions call for different bases (dynamic NTK) go one by one. */
  applyRows(x: mx.array, positions: readonly number[]): mx.array {
    const bases = new Set(positions.map((position) => this.baseFor(position + 1)));
    if (bases.size > 1) {
      return mx.concatenate(
        positions.map((position, r) => this.apply(x.index(mx.Slice(r, r + 1)), position)),
        0,
      );
    }
    const [base] = bases;
    let table = this.tables.get(base);
    if (table === undefined) {
      const freqs = Float32Array.from({ length: this.dims / 2 }, (_, i) => this.scale / base ** ((2 * i) / this.dims));
      table = new FrequencyTableRope(this.dims, freqs, 1, this.traditional);
      this.tables.set(base, table);
    }
    return table.applyRows(x, positions);
  }
}

/**
 * Dynamic NTK scaling (Hugging Face `_compute_dynamic_ntk_parameters`): past the trained context
 * the base grows with the sequence so the lowest frequency still spans it. Like Hugging Face,
 * keys already cached keep the base they were rotated with.
 */
function dynamicNtkBase(base: number, dims: number, factor: number, maxPositions: number, sequenceEnd: number): number {
  if (sequenceEnd <= maxPositions) {
    return base;
  }
  return base * ((factor * sequenceEnd) / maxPositions - (factor - 1)) ** (dims / (dims - 2));
}

/**
 * Llama 3.1's frequency-dependent scaling: wavelengths shorter than the high-frequency cut-off
 * are kept, longer than the low-frequency cut-off divided by `factor`, and blended in between.
 * fast.rope takes no frequency table in this binding, so these feed FrequencyTableRope.
 */
export function llama3Frequencies(dims: number, base: number, scaling: Extract<RopeScaling, { type: 'llama3' }>): Float32Array {
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: context } = scaling;
  const lowFreqWavelen = context / lowFreqFactor;
  const highFreqWavelen = context / highFreqFactor;
  const freqs = new Float32Array(dims / 2);
  for (let i = 0; i < freqs.length; i++) {
    const freq = 1 / base ** ((2 * i) / dims);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highFreqWavelen) {
      freqs[i] = freq;
    } else if (wavelen > lowFreqWavelen) {
      freqs[i] = freq / factor;
    } else {
      const smooth = (context / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      freqs[i] = (1 - smooth) * (freq / factor) + smooth * freq;
    }
  }
  return freqs;
}

/**
 * Rotary embedding over the leading 2·freqs.length dimensions of each head with the checkpoint's own
 * inverse frequencies (x-transformers' RotaryEmbedding keeps them as a buffer, `inv_freq`, and F5-TTS's
 * MLX-trained duration model even trained them), interleaved pairs when `traditional` (x-transformers'
 * rotate_half pairs dimensions 2i and 2i+1) or halves otherwise.
 */
export function ropeFromFrequencies(freqs: Float32Array, traditional: boolean): Rope {
  return new FrequencyTableRope(2 * freqs.length, freqs, 1, traditional);
}

/** Rotary embedding over an explicit frequency table: rotate-half pairs (i, i + dims/2), or interleaved pairs (2i, 2i + 1) when traditional. */
class FrequencyTableRope implements Rope {
  private readonly freqs: mx.array;

  constructor(
    private readonly dims: number,
    freqs: Float32Array,
    /** Multiplies cos and sin (YaRN's attention factor). */
    private readonly magnitude = 1,
    private readonly traditional = false,
  ) {
    this.freqs = mx.array(Array.from(freqs), mx.float32);
  }

  apply(x: mx.array, offset: number): mx.array {
    return this.rotate(x, mx.outer(mx.arange(offset, offset + x.shape[2], 1, mx.float32), this.freqs));
  }

  applyRows(x: mx.array, positions: readonly number[]): mx.array {
    const angles = mx.outer(mx.array([...positions], mx.float32), this.freqs);
    return this.rotate(x, angles.reshape(positions.length, 1, 1, this.dims / 2));
  }

  /** Rotates x by `angles`, which broadcast against [..., dims / 2]. */
  private rotate(x: mx.array, angles: mx.array): mx.array {
    const headDim = x.shape[3];
    const half = this.dims / 2;
    const cos = mx.multiply(mx.cos(angles), this.magnitude).astype(x.dtype);
    const sin = mx.multiply(mx.sin(angles), this.magnitude).astype(x.dtype);
    const part = (start: number, stop: number): mx.array => x.index('...', mx.Slice(start, stop));
    const rotate = (x1: mx.array, x2: mx.array): [mx.array, mx.array] => [
      mx.subtract(mx.multiply(x1, cos), mx.multiply(x2, sin)),
      mx.add(mx.multiply(x2, cos), mx.multiply(x1, sin)),
    ];
    const rotated = this.traditional ? [rotateInterleavedPairs(part(0, this.dims), cos, sin)] : rotate(part(0, half), part(half, this.dims));
    if (this.dims < headDim) {
      rotated.push(part(this.dims, headDim));
    }
    return rotated.length === 1 ? rotated[0] : mx.concatenate(rotated, -1);
  }
}

/**
 * Rotates the interleaved pairs (2i, 2i + 1) of x's last axis by the angles whose cos and sin are given
 * (broadcast against [..., pairs]): (a, b) → (a·cos − b·sin, a·sin + b·cos). x-transformers' and FLUX's
 * rotary embeddings (diffusers' apply_rotary_emb with use_real_unbind_dim=−1).
 */
export function rotateInterleavedPairs(x: mx.array, cos: mx.array, sin: mx.array): mx.array {
  const shape = x.shape;
  const pairs = x.reshape(...shape.slice(0, -1), shape[shape.length - 1] / 2, 2);
  const a = pairs.index('...', 0);
  const b = pairs.index('...', 1);
  return mx.stack([mx.subtract(mx.multiply(a, cos), mx.multiply(b, sin)), mx.add(mx.multiply(a, sin), mx.multiply(b, cos))], -1).reshape(...shape);
}
