import { core as mx } from '@frost-beta/mlx';
import type { PacedWork } from '../../runtime/paced-work';
import { leakyRelu } from '../../nn/activations';
import type { Conv1d } from '../../nn/conv';
import type { Embedding, Linear } from '../../nn/layers';
import type { BiLstm } from '../../nn/lstm';
import { AdaLayerNorm, type LayerNorm } from '../../nn/norms';
import type { KokoroConfig } from './config';
import { AdainResBlock } from './style-blocks';
import type { KokoroWeights } from './weights';

/** Frames a single phoneme may last at most (as mlx-audio clips; hexgrad only bounds it below). */
export const MAX_FRAMES_PER_PHONEME = 100;

/** x [1, length, channels] and the style [1, style] broadcast along time, concatenated on channels. */
function withStyle(x: mx.array, style: mx.array): mx.array {
  return mx.concatenate([x, mx.broadcastTo(style.reshape(1, 1, -1), [1, x.shape[1], style.shape[1]])], -1);
}

/**
 * StyleTTS 2's prosody predictor: the duration encoder (BiLSTMs alternating with style-conditioned
 * layer norms), the duration head, and the F0 and energy (noise) branches over the aligned frames.
 */
export class ProsodyPredictor {
  private readonly encoderLstms: BiLstm[];
  private readonly encoderNorms: AdaLayerNorm[];
  private readonly lstm: BiLstm;
  private readonly durationProj: Linear;
  private readonly shared: BiLstm;
  private readonly f0Blocks: AdainResBlock[];
  private readonly noiseBlocks: AdainResBlock[];
  private readonly f0Proj: Conv1d;
  private readonly noiseProj: Conv1d;

  constructor(weights: KokoroWeights, config: KokoroConfig) {
    const { hiddenDim: hidden, styleDim: style, layers } = config;
    const half = Math.floor(hidden / 2);
    this.encoderLstms = Array.from({ length: layers }, (_, l) => weights.biLstm(`predictor.text_encoder.lstms.${2 * l}`, hidden + style, half));
    this.encoderNorms = Array.from(
      { length: layers },
      (_, l) => new AdaLayerNorm(weights.linear(`predictor.text_encoder.lstms.${2 * l + 1}.fc`, style, 2 * hidden), hidden),
    );
    this.lstm = weights.biLstm('predictor.lstm', hidden + style, half);
    this.durationProj = weights.linear('predictor.duration_proj.linear_layer', hidden, config.maxDuration);
    this.shared = weights.biLstm('predictor.shared', hidden + style, half);
    const branch = (name: string) => [
      new AdainResBlock(weights, `predictor.${name}.0`, style, hidden, hidden, false),
      new AdainResBlock(weights, `predictor.${name}.1`, style, hidden, half, true),
      new AdainResBlock(weights, `predictor.${name}.2`, style, half, half, false),
    ];
    this.f0Blocks = branch('F0');
    this.noiseBlocks = branch('N');
    this.f0Proj = weights.conv('predictor.F0_proj', { inChannels: half, outChannels: 1, kernel: 1 });
    this.noiseProj = weights.conv('predictor.N_proj', { inChannels: half, outChannels: 1, kernel: 1 });
  }

  /** The duration encoder: text features [1, tokens, hidden] → [1, tokens, hidden + style]. */
  async encode(features: mx.array, style: mx.array, work: PacedWork): Promise<mx.array> {
    let x = withStyle(features, style);
    for (let l = 0; l < this.encoderLstms.length; l++) {
      const hidden = await this.encoderLstms[l].forward(x.index(0), work);
      x = await work.run(() => withStyle(this.encoderNorms[l].forward(hidden.reshape(1, ...hidden.shape), style), style));
    }
    return x;
  }

  /** Frames per token: round(Σ sigmoid(duration logits) / speed), clipped to [1, MAX_FRAMES_PER_PHONEME]. */
  async durations(encoded: mx.array, speed: number, work: PacedWork): Promise<number[]> {
    const x = await this.lstm.forward(encoded.index(0), work);
    const frames = await work.run(() =>
      mx.clip(mx.round(mx.divide(mx.sum(mx.sigmoid(this.durationProj.forward(x)), -1), speed)), 1, MAX_FRAMES_PER_PHONEME),
    );
    return frames.tolist() as number[];
  }

  /** F0 and energy curves at twice the frame rate: aligned [1, frames, hidden + style] → two [2·frames] arrays. */
  async pitchAndEnergy(aligned: mx.array, style: mx.array, work: PacedWork): Promise<[mx.array, mx.array]> {
    const shared = await this.shared.forward(aligned.index(0), work);
    const run = async (blocks: AdainResBlock[], proj: Conv1d) => {
      let x = shared.reshape(1, ...shared.shape);
      for (const block of blocks) {
        const input = x;
        x = await work.run(() => block.forward(input, style));
      }
      return proj.forward(x).flatten();
    };
    return [await run(this.f0Blocks, this.f0Proj), await run(this.noiseBlocks, this.noiseProj)];
  }
}

/** Kokoro's text encoder: embedding, convolutions with LayerNorm and LeakyReLU 0.2, then a BiLSTM; ids [1, tokens] → [1, tokens, hidden]. */
export class TextEncoder {
  private readonly embedding: Embedding;
  private readonly convs: Array<{ conv: Conv1d; norm: LayerNorm }>;
  private readonly lstm: BiLstm;

  constructor(weights: KokoroWeights, config: KokoroConfig) {
    const { hiddenDim: hidden, textEncoderKernelSize: kernel } = config;
    this.embedding = weights.embedding('text_encoder.embedding', config.tokens, hidden);
    this.convs = Array.from({ length: config.layers }, (_, l) => ({
      conv: weights.conv(`text_encoder.cnn.${l}.0`, {
        inChannels: hidden,
        outChannels: hidden,
        kernel,
        padding: Math.floor((kernel - 1) / 2),
        weightNorm: true,
      }),
      norm: weights.layerNorm(`text_encoder.cnn.${l}.1`, hidden, 1e-5, ['gamma', 'beta']),
    }));
    this.lstm = weights.biLstm('text_encoder.lstm', hidden, Math.floor(hidden / 2));
  }

  async forward(ids: mx.array, work: PacedWork): Promise<mx.array> {
    const x = await work.run(() => {
      let h = this.embedding.forward(ids);
      for (const { conv, norm } of this.convs) {
        h = leakyRelu(norm.forward(conv.forward(h)), 0.2);
      }
      return h.index(0);
    });
    const encoded = await this.lstm.forward(x, work);
    return encoded.reshape(1, ...encoded.shape);
  }
}
