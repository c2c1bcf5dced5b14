import { core as mx } from '@frost-beta/mlx';
import { Conv1d, conv1dWeightFromTorch, type Conv1dOptions } from '../nn/conv';
import { RMSNorm, type Embedding, type Linear } from '../nn/layers';
import { LayerNorm } from '../nn/norms';
import { MissingTensorError } from './errors';
import type { WeightStore } from './weight-store';

/**
 * A transposed view copied into its own row-major buffer, so each convolution reads it without a
 * copy per call (this binding has no `contiguous`; an elementwise op writes its output row-major).
 */
export function materialized(view: mx.array): mx.array {
  const copy = mx.multiply(view, 1);
  mx.eval(copy);
  return copy;
}

/** How a checkpoint stores a 1-D convolution's weight: PyTorch's [out, in/groups, kernel] or MLX's [out, kernel, in/groups]. */
export type ConvLayout = 'torch' | 'mlx';

export interface ConvSpec extends Conv1dOptions {
  inChannels: number;
  outChannels: number;
  kernel: number;
  bias?: boolean;
}

/**
 * A checkpoint as a model's modules ask for it: each accessor checks the tensor against the shape the
 * model implies and returns the layer in this engine's layout, and every array a built layer holds is
 * kept, so the loaded model can tell what it occupies (what the pool's memory budget counts). A tensor
 * changed at load (a convolution's layout, a folded norm) is counted as the array the layer holds.
 */
export class ResidentWeights {
  private readonly held = new Set<mx.array>();

  constructor(
    protected readonly store: WeightStore,
    protected readonly modelDir: string,
  ) {}

  /** Bytes of every array the built layers hold. */
  get residentBytes(): number {
    let total = 0;
    for (const array of this.held) {
      total += array.size * array.itemsize;
    }
    return total;
  }

  /** The shape of a dense tensor as stored, for widths only the checkpoint states. */
  storedShape(name: string): readonly number[] {
    const shape = this.store.shapeOf(name);
    if (shape === undefined) {
      throw new MissingTensorError(name, this.modelDir);
    }
    return shape;
  }

  /** The logical [out, in] of a linear or embedding module, dense or quantized. */
  moduleShape(module: string): readonly number[] {
    const shape = this.store.moduleShape(module);
    if (shape === undefined) {
      throw new MissingTensorError(`${module}.weight`, this.modelDir);
    }
    return shape;
  }

  has(name: string): boolean {
    return this.store.shapeOf(name) !== undefined;
  }

  tensor(name: string, shape: readonly number[]): mx.array {
    return this.hold(this.store.tensor(name, shape));
  }

  linear(module: string, inFeatures: number, outFeatures: number, bias = true): Linear {
    const layer = this.store.linear(module, inFeatures, outFeatures, { bias });
    this.store.moduleArrays(module).forEach((array) => this.hold(array));
    return layer;
  }

  embedding(module: string, rows: number, width: number): Embedding {
    const layer = this.store.embedding(module, rows, width);
    this.store.moduleArrays(module).forEach((array) => this.hold(array));
    return layer;
  }

  /** A LayerNorm over `dim` channels with its scale and shift under `names` (Kokoro's text encoder calls them gamma/beta). */
  layerNorm(module: string, dim: number, eps: number, names: [string, string] = ['weight', 'bias']): LayerNorm {
    return new LayerNorm(eps, this.tensor(`${module}.${names[0]}`, [dim]), this.tensor(`${module}.${names[1]}`, [dim]));
  }

  rmsNorm(module: string, dim: number, eps: number): RMSNorm {
    return new RMSNorm(this.tensor(`${module}.weight`, [dim]), eps);
  }

  /** A plain 1-D convolution whose weight is stored in `layout`, in the engine's layout. */
  conv1d(module: string, spec: ConvSpec, layout: ConvLayout): Conv1d {
    const perGroup = spec.inChannels / (spec.groups ?? 1);
    const stored = layout === 'torch' ? [spec.outChannels, perGroup, spec.kernel] : [spec.outChannels, spec.kernel, perGroup];
    const weight = this.store.tensor(`${module}.weight`, stored);
    const bias = spec.bias === false ? undefined : this.tensor(`${module}.bias`, [spec.outChannels]);
    return new Conv1d(this.hold(layout === 'torch' ? materialized(conv1dWeightFromTorch(weight)) : weight), bias, spec);
  }

  protected hold<T extends mx.array>(array: T): T {
    this.held.add(array);
    return array;
  }
}
