import type { core as mx } from '@frost-beta/mlx';
import { Conv1d, Conv2d, mlxConvKernel, type ConvKernelLayout } from '../nn/conv';
import {
  DenseEmbedding,
  DenseLinear,
  QuantizedEmbedding,
  QuantizedLinear,
  RMSNorm,
  type Embedding,
  type Linear,
  type QuantizedTensor,
} from '../nn/layers';
import { GroupNorm, LayerNorm } from '../nn/norms';
import { MissingTensorError, TensorShapeMismatchError } from './errors';

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The loaded tensors, handed to an architecture to build its layers from. Each accessor checks
 * the tensor against the shape the config implies, so a checkpoint that does not match its
 * config fails at load with the tensor's name instead of producing garbage.
 *
 * A module is either dense (`<module>.weight`) or, kept quantized, a `QuantizedTensor`; the
 * layer built from it hides which.
 */
export class WeightStore {
  constructor(
    private readonly dense: ReadonlyMap<string, mx.array>,
    private readonly quantized: ReadonlyMap<string, QuantizedTensor>,
    private readonly modelDir: string,
    private readonly prefix = '',
  ) {}

  /** The same store with `prefix` prepended to every name (a text tower inside a multimodal checkpoint). */
  scoped(prefix: string): WeightStore {
    return new WeightStore(this.dense, this.quantized, this.modelDir, this.prefix + prefix);
  }

  /** Bytes the loaded tensors occupy (all of them, whatever the prefix): what the model holds in memory. */
  residentBytes(): number {
    const bytes = (array: mx.array) => array.size * array.itemsize;
    let total = 0;
    for (const array of this.dense.values()) {
      total += bytes(array);
    }
    for (const { weight, scales, biases } of this.quantized.values()) {
      total += bytes(weight) + bytes(scales) + bytes(biases);
    }
    return total;
  }

  hasModule(module: string): boolean {
    const path = this.prefix + module;
    return this.quantized.has(path) || this.dense.has(`${path}.weight`);
  }

  /** The shape of a dense tensor, for layers whose widths only the checkpoint states; undefined when absent. */
  shapeOf(name: string): readonly number[] | undefined {
    return this.optionalTensor(name)?.shape;
  }

  /**
   * The logical shape of a linear or embedding module's weight, dense or quantized (a packed matrix's rows
   * and its unpacked columns), for widths only the checkpoint states; undefined when absent.
   */
  moduleShape(module: string): readonly number[] | undefined {
    const q = this.quantized.get(this.prefix + module);
    if (q) {
      const { shape } = q.weight;
      return [...shape.slice(0, -1), (shape[shape.length - 1] * 32) / q.bits];
    }
    return this.shapeOf(`${module}.weight`);
  }

  /** The arrays a module built by `linear` or `embedding` holds (packed parts when quantized, plus its bias). */
  moduleArrays(module: string): mx.array[] {
    const path = this.prefix + module;
    const q = this.quantized.get(path);
    const bias = this.dense.get(`${path}.bias`);
    const parts = q ? [q.weight, q.scales, q.biases] : [this.dense.get(`${path}.weight`)];
    return [...parts, bias].filter((array): array is mx.array => array !== undefined);
  }

  tensor(name: string, shape: readonly number[]): mx.array {
    const path = this.prefix + name;
    const found = this.dense.get(path);
    if (!found) {
      throw new MissingTensorError(path, this.modelDir);
    }
    if (!sameShape(found.shape, shape)) {
      throw new TensorShapeMismatchError(path, shape, found.shape);
    }
    return found;
  }

  /** A tensor whose shape is data rather than implied by the config (Whisper's `alignment_heads`); undefined when absent. */
  optionalTensor(name: string): mx.array | undefined {
    return this.dense.get(this.prefix + name);
  }

  /** `<module>.weight` [out, in] (+ `<module>.bias` [out]). */
  linear(module: string, inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}): Linear {
    const bias = options.bias ? this.tensor(`${module}.bias`, [outFeatures]) : undefined;
    const q = this.quantizedModule(module, [outFeatures, inFeatures]);
    return q ? new QuantizedLinear(q, bias) : new DenseLinear(this.tensor(`${module}.weight`, [outFeatures, inFeatures]), bias);
  }

  embedding(module: string, vocabSize: number, hidden: number): Embedding {
    const q = this.quantizedModule(module, [vocabSize, hidden]);
    return q ? new QuantizedEmbedding(q) : new DenseEmbedding(this.tensor(`${module}.weight`, [vocabSize, hidden]));
  }

  rmsNorm(module: string, dim: number, eps: number, transform?: (weight: mx.array) => mx.array): RMSNorm {
    const weight = this.tensor(`${module}.weight`, [dim]);
    return new RMSNorm(transform ? transform(weight) : weight, eps);
  }

  /**
   * Layer norm with `<module>.weight` [dim] and, unless `bias: false` (ModernBERT), `<module>.bias` [dim];
   * eps defaults to PyTorch's nn.LayerNorm one (Whisper's).
   */
  layerNorm(module: string, dim: number, eps = 1e-5, options: { bias?: boolean } = {}): LayerNorm {
    const bias = options.bias ?? true;
    return new LayerNorm(eps, this.tensor(`${module}.weight`, [dim]), bias ? this.tensor(`${module}.bias`, [dim]) : undefined);
  }

  /** Group norm with `<module>.weight` and `<module>.bias` [channels]. */
  groupNorm(module: string, groups: number, channels: number, eps: number): GroupNorm {
    return new GroupNorm(groups, eps, this.tensor(`${module}.weight`, [channels]), this.tensor(`${module}.bias`, [channels]));
  }

  /** `<module>.weight` [out, kernel, in] (MLX's layout) and `<module>.bias` [out]. */
  conv1d(module: string, inChannels: number, outChannels: number, kernel: number, options: { stride?: number; padding?: number } = {}): Conv1d {
    return new Conv1d(this.tensor(`${module}.weight`, [outChannels, kernel, inChannels]), this.tensor(`${module}.bias`, [outChannels]), options);
  }

  /** A square-kernel 2-D convolution with bias, its kernel stored as `layout` says; padding keeps the size for odd kernels. */
  conv2d(module: string, inChannels: number, outChannels: number, kernelSize: number, layout: ConvKernelLayout): Conv2d {
    const shape = layout === 'oihw' ? [outChannels, inChannels, kernelSize, kernelSize] : [outChannels, kernelSize, kernelSize, inChannels];
    const kernel = mlxConvKernel(this.tensor(`${module}.weight`, shape), layout);
    return new Conv2d(kernel, this.tensor(`${module}.bias`, [outChannels]), Math.floor(kernelSize / 2));
  }

  /**
   * A per-position projection stored either as a linear [out, in] or as a 1×1 convolution [out, in, 1, 1]
   * (the VAE's attention in BFL's autoencoder), as a Linear.
   */
  pointwise(module: string, inFeatures: number, outFeatures: number): Linear {
    if (this.optionalTensor(`${module}.weight`)?.ndim === 4) {
      const weight = this.tensor(`${module}.weight`, [outFeatures, inFeatures, 1, 1]).reshape(outFeatures, inFeatures);
      return new DenseLinear(weight, this.tensor(`${module}.bias`, [outFeatures]));
    }
    return this.linear(module, inFeatures, outFeatures, { bias: true });
  }

  /**
   * Expert `index` of a mixture-of-experts projection, from either layout: Hugging Face keeps one
   * module per expert (`experts.<i>.<proj>`), mlx-lm stacks them (`switch_mlp.<proj>`, [experts, out, in];
   * gpt-oss checkpoints stack them under `experts.<proj>`, with a bias [experts, out]). A stacked
   * expert is a slice, which shares the stacked buffer rather than copying it.
   */
  expertLinear(
    block: string,
    projection: string,
    index: number,
    experts: number,
    inFeatures: number,
    outFeatures: number,
    options: { bias?: boolean } = {},
  ): Linear {
    const stacked = [`${block}.switch_mlp.${projection}`, `${block}.experts.${projection}`].find((module) => this.hasModule(module));
    if (stacked === undefined) {
      return this.linear(`${block}.experts.${index}.${projection}`, inFeatures, outFeatures, options);
    }
    const bias = options.bias ? this.tensor(`${stacked}.bias`, [experts, outFeatures]).index(index) : undefined;
    const q = this.quantizedModule(stacked, [experts, outFeatures, inFeatures]);
    if (q) {
      return new QuantizedLinear(
        {
          ...q,
          weight: q.weight.index(index),
          scales: q.scales.index(index),
          biases: q.biases.index(index),
        },
        bias,
      );
    }
    return new DenseLinear(this.tensor(`${stacked}.weight`, [experts, outFeatures, inFeatures]).index(index), bias);
  }

  /** The quantized module at `module`, checked against the logical (unpacked) shape; undefined when dense. */
  private quantizedModule(module: string, logicalShape: readonly number[]): QuantizedTensor | undefined {
    const path = this.prefix + module;
    const q = this.quantized.get(path);
    if (!q) {
      return undefined;
    }
    const inFeatures = logicalShape[logicalShape.length - 1];
    const lead = logicalShape.slice(0, -1);
    const packed = [...lead, (inFeatures * q.bits) / 32];
    const grouped = [...lead, inFeatures / q.groupSize];
    if (!sameShape(q.weight.shape, packed)) {
      throw new TensorShapeMismatchError(`${path}.weight`, packed, q.weight.shape);
    }
    if (!sameShape(q.scales.shape, grouped)) {
      throw new TensorShapeMismatchError(`${path}.scales`, grouped, q.scales.shape);
    }
    if (!sameShape(q.biases.shape, grouped)) {
      throw new TensorShapeMismatchError(`${path}.biases`, grouped, q.biases.shape);
    }
    return q;
  }
}
