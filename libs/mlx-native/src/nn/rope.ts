import { core as mx } from '@frost-beta/mlx';

/** Rotary position embedding of queries or keys [batch, heads, length, headDim] starting at `offset`. */
export interface Rope {
  apply(x: mx.array, offset: number): mx.array;
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
  }
}

/** The binding's fused kernel: frequencies base^(-2i/dims), positions multiplied by `scale`. */
class FastRope implements Rope {
  constructor(
    private readonly dims: number,
    private readonly traditional: boolean,
    private readonly baseFor: (sequenceEnd: number) => number,
    private readonly scale: number,
  ) {}

  apply(x: mx.array, offset: number): mx.array {
    const base = this.baseFor(offset + x.shape[2]);
    return mx.fast.rope(x, this.dims, this.traditional, base, this.scale, offset);
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

/** Rotate-half rotary embedding over an explicit frequency table. */
class FrequencyTableRope implements Rope {
  private readonly freqs: mx.array;

  constructor(
    private readonly dims: number,
    freqs: Float32Array,
  ) {
    this.freqs = mx.array(Array.from(freqs), mx.float32);
  }

  apply(x: mx.array, offset: number): mx.array {
    const length = x.shape[2];
    const headDim = x.shape[3];
    const half = this.dims / 2;
    const positions = mx.arange(offset, offset + length, 1, mx.float32);
    const angles = mx.outer(positions, this.freqs);
    const cos = mx.cos(angles).astype(x.dtype);
    const sin = mx.sin(angles).astype(x.dtype);
    const part = (start: number, stop: number): mx.array => x.index('...', mx.Slice(start, stop));
    const x1 = part(0, half);
    const x2 = part(half, this.dims);
    const rotated = [
      mx.subtract(mx.multiply(x1, cos), mx.multiply(x2, sin)),
      mx.add(mx.multiply(x2, cos), mx.multiply(x1, sin)),
    ];
    if (this.dims < headDim) {
      rotated.push(part(this.dims, headDim));
    }
    return mx.concatenate(rotated, -1);
  }
}
