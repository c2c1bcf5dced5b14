import { core as mx } from '@frost-beta/mlx';
import type { Linear } from '../../nn/layers';
import { PacedWork } from '../../runtime/paced-work';
import type { KokoroConfig } from './config';
import { KokoroDecoder, type SourceNoise } from './decoder';
import { PlBert } from './plbert';
import { ProsodyPredictor, TextEncoder } from './prosody';
import type { KokoroWeights } from './weights';

export interface KokoroForwardOptions {
  /** Divides the predicted durations (1: as trained). */
  speed: number;
  noise: SourceNoise;
  /** Pacing of the computation (device turns, abort); none: straight through. */
  work?: PacedWork;
}

export interface KokoroOutput {
  /** Waveform at the config's sample rate, [samples]. */
  audio: mx.array;
  /** Frames predicted for each input id (the padding ids included). */
  durations: number[];
}

/**
 * Kokoro-82M (StyleTTS 2 with an iSTFTNet decoder, as hexgrad's KModel.forward_with_tokens): phoneme
 * ids and a voice's style vector in, a waveform out.
 */
export class KokoroModel {
  private readonly bert: PlBert;
  private readonly bertEncoder: Linear;
  private readonly predictor: ProsodyPredictor;
  private readonly textEncoder: TextEncoder;
  private readonly decoder: KokoroDecoder;
  /** Bytes the model's arrays occupy. */
  readonly weightBytes: number;

  constructor(
    weights: KokoroWeights,
    readonly config: KokoroConfig,
  ) {
    this.bert = new PlBert(weights, config.plbert, config.tokens);
    this.bertEncoder = weights.linear('bert_encoder', config.plbert.hiddenSize, config.hiddenDim);
    this.predictor = new ProsodyPredictor(weights, config);
    this.textEncoder = new TextEncoder(weights, config);
    this.decoder = new KokoroDecoder(weights, config);
    this.weightBytes = weights.residentBytes;
  }

  /** The longest id sequence (padding included) the position embeddings cover. */
  get maxInputLength(): number {
    return this.bert.maxPositions;
  }

  /** ids [length] (framed by the padding id 0, as upstream), style [1, 2·style_dim] → waveform and durations. */
  async forward(ids: readonly number[], style: mx.array, options: KokoroForwardOptions): Promise<KokoroOutput> {
    if (ids.length > this.maxInputLength) {
      throw new RangeError(`${ids.length} ids exceed the ${this.maxInputLength} positions of the model`);
    }
    const work = options.work ?? new PacedWork();
    const styleDim = this.config.styleDim;
    const decoderStyle = style.index(mx.Slice(), mx.Slice(0, styleDim));
    const prosodyStyle = style.index(mx.Slice(), mx.Slice(styleDim, 2 * styleDim));
    const input = mx.array([ids as number[]], mx.int32);

    const features = await work.run(() => this.bertEncoder.forward(this.bert.forward(input)));
    const encoded = await this.predictor.encode(features, prosodyStyle, work);
    const durations = await this.predictor.durations(encoded, options.speed, work);
    // The alignment is a repeat of each token's features for its frames (upstream's one-hot matmul, as a gather).
    const alignment = mx.array(
      durations.flatMap((frames, token) => Array<number>(frames).fill(token)),
      mx.int32,
    );
    const aligned = mx.take(encoded, alignment, 1);
    const [f0, energy] = await this.predictor.pitchAndEnergy(aligned, prosodyStyle, work);
    const text = await this.textEncoder.forward(input, work);
    const asr = mx.take(text, alignment, 1);
    const audio = await this.decoder.forward(asr, f0, energy, decoderStyle, options.noise, work);
    return { audio, durations };
  }
}
