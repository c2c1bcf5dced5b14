import type { core as mx } from '@frost-beta/mlx';
import { materialized, ResidentWeights, type ConvSpec } from '../../io/resident-weights';
import type { WeightStore } from '../../io/weight-store';
import { Conv1d, conv1dWeightFromTorch, ConvTranspose1d, convTranspose1dWeightFromTorch, foldWeightNorm } from '../../nn/conv';
import { BiLstm, type LstmDirectionWeights } from '../../nn/lstm';
import type { LayerNorm } from '../../nn/norms';

/**
 * How a Kokoro checkpoint names and lays out its tensors. hexgrad's export (and mlx-community's bf16
 * copy) keeps PyTorch's: convolutions [out, in, kernel] (transposed ones [in, out, kernel]), LSTMs as
 * `weight_ih_l0[_reverse]`, the text encoder's LayerNorms as `gamma`/`beta`. mlx-audio's quantized
 * conversions store the model as mlx-audio holds it: convolution weights with the last two axes swapped,
 * LSTMs as `Wx_forward`/`Wh_backward`/`bias_ih_forward`…, LayerNorms as `weight`/`bias`, and its
 * Linear and Embedding modules MLX-affine quantized.
 */
export type KokoroNaming = 'pytorch' | 'mlx';

/** The MLX naming is recognised by its LSTM tensors, which every Kokoro checkpoint has. */
export function kokoroNaming(tensorNames: Iterable<string>): KokoroNaming {
  for (const name of tensorNames) {
    if (name.endsWith('.Wx_forward')) {
      return 'mlx';
    }
  }
  return 'pytorch';
}

/** Tensors the forward never reads: the ALBERT pooler (Kokoro takes the last hidden state) and HF's position_ids buffer. */
export function isKokoroInferenceTensor(name: string): boolean {
  return !name.startsWith('bert.pooler.') && !name.endsWith('.position_ids');
}

/**
 * Tensors that survive loading as themselves: weight-norm magnitudes are folded into their directions
 * and each LSTM direction's two biases into one, so neither occupies memory of its own.
 */
export function isKokoroResidentTensor(name: string): boolean {
  return isKokoroInferenceTensor(name) && !name.endsWith('.weight_g') && !/\.(bias_hh_l0(_reverse)?|bias_hh_(forward|backward))$/.test(name);
}

export interface KokoroConvSpec extends ConvSpec {
  /** weight_g / weight_v rather than a plain weight. */
  weightNorm?: boolean;
}

/**
 * The checkpoint as Kokoro's modules ask for it, whatever its naming: every accessor checks the
 * tensor against the shape the config implies and returns the layer in this engine's layout
 * (channels-last convolutions with weight norm folded), holding what it built (see ResidentWeights).
 */
export class KokoroWeights extends ResidentWeights {
  constructor(
    store: WeightStore,
    readonly naming: KokoroNaming,
    modelDir: string,
  ) {
    super(store, modelDir);
  }

  /** Output channels of a (weight-normed or plain) convolution, read from its weights. */
  convOutChannels(module: string): number {
    return this.store.shapeOf(`${module}.weight_g`)?.[0] ?? this.storedShape(`${module}.weight`)[0];
  }

  /** A LayerNorm over `dim` channels; the text encoder's are `gamma`/`beta` in PyTorch naming. */
  override layerNorm(module: string, dim: number, eps: number, torchNames: [string, string] = ['weight', 'bias']): LayerNorm {
    return super.layerNorm(module, dim, eps, this.naming === 'pytorch' ? torchNames : ['weight', 'bias']);
  }

  conv(module: string, spec: KokoroConvSpec): Conv1d {
    const groups = spec.groups ?? 1;
    const torchShape = [spec.outChannels, spec.inChannels / groups, spec.kernel];
    const weight = this.hold(materialized(conv1dWeightFromTorch(this.convWeight(module, torchShape, spec.weightNorm ?? false))));
    const bias = spec.bias === false ? undefined : this.tensor(`${module}.bias`, [spec.outChannels]);
    return new Conv1d(weight, bias, spec);
  }

  /** A weight-normed ConvTranspose1d (PyTorch weight [in, out/groups, kernel]). */
  convTranspose(module: string, spec: KokoroConvSpec & { stride: number; outputPadding?: number }): ConvTranspose1d {
    const groups = spec.groups ?? 1;
    const torchShape = [spec.inChannels, spec.outChannels / groups, spec.kernel];
    const weight = this.hold(materialized(convTranspose1dWeightFromTorch(this.convWeight(module, torchShape, spec.weightNorm ?? true), groups)));
    const bias = spec.bias === false ? undefined : this.tensor(`${module}.bias`, [spec.outChannels]);
    return new ConvTranspose1d(weight, bias, { stride: spec.stride, padding: spec.padding, outputPadding: spec.outputPadding, groups });
  }

  /** A bidirectional single-layer LSTM. */
  biLstm(module: string, input: number, hidden: number): BiLstm {
    const direction = (reverse: boolean): LstmDirectionWeights => {
      const [ih, hh, bih, bhh] =
        this.naming === 'pytorch'
          ? ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'].map((n) => `${module}.${n}${reverse ? '_reverse' : ''}`)
          : ['Wx', 'Wh', 'bias_ih', 'bias_hh'].map((n) => `${module}.${n}_${reverse ? 'backward' : 'forward'}`);
      return {
        weightIh: this.store.tensor(ih, [4 * hidden, input]),
        weightHh: this.store.tensor(hh, [4 * hidden, hidden]),
        biasIh: this.store.tensor(bih, [4 * hidden]),
        biasHh: this.store.tensor(bhh, [4 * hidden]),
      };
    };
    const lstm = new BiLstm(direction(false), direction(true));
    lstm.parameters.forEach((array) => this.hold(array));
    return lstm;
  }

  /** A convolution's weight in PyTorch's layout, weight norm folded, whatever the naming. */
  private convWeight(module: string, torchShape: number[], weightNorm: boolean): mx.array {
    const stored = (shape: number[]) => (this.naming === 'mlx' ? [shape[0], shape[2], shape[1]] : shape);
    const toTorch = (array: mx.array) => (this.naming === 'mlx' ? array.transpose(0, 2, 1) : array);
    if (!weightNorm) {
      return toTorch(this.store.tensor(`${module}.weight`, stored(torchShape)));
    }
    // The norm runs over every axis but the first, so folding before the layout change is the same fold.
    const direction = this.store.tensor(`${module}.weight_v`, stored(torchShape));
    const magnitude = this.store.tensor(`${module}.weight_g`, [torchShape[0], 1, 1]);
    return toTorch(foldWeightNorm(magnitude, direction));
  }
}
