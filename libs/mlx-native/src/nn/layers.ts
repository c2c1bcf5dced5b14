import { core as mx } from '@frost-beta/mlx';
import { geluTanh, silu } from './activations';

/** MLX affine quantization of one matrix: packed uint32 `weight` plus per-group `scales`/`biases`. */
export interface QuantizedTensor {
  weight: mx.array;
  scales: mx.array;
  biases: mx.array;
  groupSize: number;
  bits: number;
}

/** y = x Wᵀ (+ b), whatever the weight's storage. */
export interface Linear {
  forward(x: mx.array): mx.array;
}

export class DenseLinear implements Linear {
  /** Wᵀ as a view: matmul reads the transposed layout directly, no copy per call. */
  private readonly weightT: mx.array;

  constructor(
    weight: mx.array,
    private readonly bias?: mx.array,
  ) {
    this.weightT = weight.T;
  }

  forward(x: mx.array): mx.array {
    const y = mx.matmul(x, this.weightT);
    return this.bias ? mx.add(y, this.bias) : y;
  }
}

export class QuantizedLinear implements Linear {
  constructor(
    private readonly q: QuantizedTensor,
    private readonly bias?: mx.array,
  ) {}

  forward(x: mx.array): mx.array {
    const { weight, scales, biases, groupSize, bits } = this.q;
    const y = mx.quantizedMatmul(x, weight, scales, biases, true, groupSize, bits);
    return this.bias ? mx.add(y, this.bias) : y;
  }
}

/** Token embedding table; `asLinear` is the tied output head (logits = h Eᵀ). */
export interface Embedding {
  forward(tokens: mx.array): mx.array;
  asLinear(x: mx.array): mx.array;
}

export class DenseEmbedding implements Embedding {
  constructor(private readonly table: mx.array) {}

  forward(tokens: mx.array): mx.array {
    return mx.take(this.table, tokens, 0);
  }

  asLinear(x: mx.array): mx.array {
    return mx.matmul(x, this.table.T);
  }
}

/** Looks up packed rows and dequantizes only those, so the full table never exists in float. */
export class QuantizedEmbedding implements Embedding {
  constructor(private readonly q: QuantizedTensor) {}

  forward(tokens: mx.array): mx.array {
    const { weight, scales, biases, groupSize, bits } = this.q;
    const flat = tokens.flatten();
    const rows = mx.dequantize(
      mx.take(weight, flat, 0),
      mx.take(scales, flat, 0),
      mx.take(biases, flat, 0),
      groupSize,
      bits,
    );
    return rows.reshape([...tokens.shape, rows.shape[1]]);
  }

  asLinear(x: mx.array): mx.array {
    const { weight, scales, biases, groupSize, bits } = this.q;
    return mx.quantizedMatmul(x, weight, scales, biases, true, groupSize, bits);
  }
}

/** Root-mean-square layer norm: x / rms(x) · weight. */
export class RMSNorm {
  constructor(
    readonly weight: mx.array,
    private readonly eps: number,
  ) {}

  forward(x: mx.array): mx.array {
    return mx.fast.rmsNorm(x, this.weight, this.eps);
  }
}

/**
 * The gating of a GLU-family MLP: act(gate) ⊙ up. Compiled, so the activation's several
 * elementwise ops run as one pass and leave one array behind instead of one per op (each of
 * which would stay allocated until its JS wrapper is collected).
 */
export type Gating = (gate: mx.array, up: mx.array) => mx.array;

/** SwiGLU: silu(gate) ⊙ up, silu(x) = x · σ(x). */
export const swiGlu: Gating = mx.compile((gate: mx.array, up: mx.array) => mx.multiply(silu(gate), up));

/** GeGLU with the tanh approximation of GELU (Gemma's `gelu_pytorch_tanh`): geluTanh(gate) ⊙ up. */
export const geluTanhGlu: Gating = mx.compile((gate: mx.array, up: mx.array) => mx.multiply(geluTanh(gate), up));