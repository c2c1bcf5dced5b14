import { core as mx } from '@frost-beta/mlx';
import type { ModelConfig } from '../io/model-config';
import type { WeightStore } from '../io/weight-store';
import { gelu } from '../nn/activations';
import type { Conv1d } from '../nn/conv';
import type { Embedding, Linear } from '../nn/layers';
import { FixedKVCache, MultiHeadAttention, type KeysValues } from '../nn/multi-head-attention';
import type { LayerNorm } from '../nn/norms';

/** mlx_whisper's ModelDimensions, the ten sizes of its config.json. */
export interface WhisperDimensions {
  nMels: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  nVocab: number;
  nTextCtx: number;
  nTextState: number;
  nTextHead: number;
  nTextLayer: number;
}

export function readWhisperDimensions(config: ModelConfig): WhisperDimensions {
  return {
    nMels: config.int('n_mels'),
    nAudioCtx: config.int('n_audio_ctx'),
    nAudioState: config.int('n_audio_state'),
    nAudioHead: config.int('n_audio_head'),
    nAudioLayer: config.int('n_audio_layer'),
    nVocab: config.int('n_vocab'),
    nTextCtx: config.int('n_text_ctx'),
    nTextState: config.int('n_text_state'),
    nTextHead: config.int('n_text_head'),
    nTextLayer: config.int('n_text_layer'),
  };
}

/** Pre-norm transformer block: self-attention, cross-attention to the audio (decoder only), GELU MLP. */
class ResidualAttentionBlock {
  constructor(
    readonly attn: MultiHeadAttention,
    private readonly attnLn: LayerNorm,
    private readonly mlp1: Linear,
    private readonly mlp2: Linear,
    private readonly mlpLn: LayerNorm,
    readonly crossAttn?: MultiHeadAttention,
    private readonly crossAttnLn?: LayerNorm,
  ) {}

  static build(w: WeightStore, path: string, state: number, heads: number, cross: boolean): ResidualAttentionBlock {
    const attention = (module: string) =>
      new MultiHeadAttention({
        query: w.linear(`${module}.query`, state, state, { bias: true }),
        key: w.linear(`${module}.key`, state, state),
        value: w.linear(`${module}.value`, state, state, { bias: true }),
        out: w.linear(`${module}.out`, state, state, { bias: true }),
        heads,
        headDim: state / heads,
      });
    return new ResidualAttentionBlock(
      attention(`${path}.attn`),
      w.layerNorm(`${path}.attn_ln`, state),
      w.linear(`${path}.mlp1`, state, 4 * state, { bias: true }),
      w.linear(`${path}.mlp2`, 4 * state, state, { bias: true }),
      w.layerNorm(`${path}.mlp_ln`, state),
      cross ? attention(`${path}.cross_attn`) : undefined,
      cross ? w.layerNorm(`${path}.cross_attn_ln`, state) : undefined,
    );
  }

  /** The audio's keys and values for this block's cross-attention, computed once per window. */
  crossKeysValues(audio: mx.array): KeysValues {
    return this.crossAttn!.keysValues(audio);
  }

  forward(x: mx.array, options: { cache?: FixedKVCache; cross?: KeysValues; crossScores?: mx.array[] } = {}): mx.array {
    let h = mx.add(x, this.attn.selfAttend(this.attnLn.forward(x), { cache: options.cache }));
    if (this.crossAttn && this.crossAttnLn && options.cross) {
      const context = { ...options.cross, mask: undefined };
      const normed = this.crossAttnLn.forward(h);
      if (options.crossScores) {
        const { output, scores } = this.crossAttn.attendWithScores(normed, context);
        options.crossScores.push(scores);
        h = mx.add(h, output);
      } else {
        h = mx.add(h, this.crossAttn.attend(normed, context));
      }
    }
    return mx.add(h, this.mlp2.forward(gelu(this.mlp1.forward(this.mlpLn.forward(h)))));
  }
}

/** Whisper's fixed sinusoidal positions [length, channels]: sines then cosines of geometric timescales up to 10,000. */
export function sinusoids(length: number, channels: number): Float32Array {
  const half = channels / 2;
  const increment = Math.log(10000) / (half - 1);
  const out = new Float32Array(length * channels);
  for (let t = 0; t < length; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * Math.exp(-increment * i);
      out[t * channels + i] = Math.sin(angle);
      out[t * channels + half + i] = Math.cos(angle);
    }
  }
  return out;
}

/** Log-mel frames [1, 2·nAudioCtx, nMels] → audio features [1, nAudioCtx, nAudioState]. */
export class AudioEncoder {
  constructor(
    private readonly conv1: Conv1d,
    private readonly conv2: Conv1d,
    private readonly positions: mx.array,
    private readonly blocks: ResidualAttentionBlock[],
    private readonly lnPost: LayerNorm,
  ) {}

  forward(mel: mx.array): mx.array {
    let x = gelu(this.conv1.forward(mel));
    x = gelu(this.conv2.forward(x));
    x = mx.add(x, this.positions);
    for (const block of this.blocks) {
      x = block.forward(x);
    }
    return this.lnPost.forward(x);
  }
}

/** What one window's decoding carries between steps: each layer's self-attention cache and the audio's keys and values. */
export interface DecoderState {
  readonly caches: FixedKVCache[];
  readonly cross: KeysValues[];
}

/** Token ids → logits over the vocabulary, attending to the encoded audio; the output head is the embedding table. */
export class TextDecoder {
  constructor(
    private readonly tokenEmbedding: Embedding,
    private readonly positionalEmbedding: mx.array,
    readonly blocks: ResidualAttentionBlock[],
    private readonly ln: LayerNorm,
    readonly contextLength: number,
  ) {}

  /** A fresh state for decoding against `audio` [1, nAudioCtx, nAudioState]. */
  newState(audio: mx.array): DecoderState {
    return {
      caches: this.blocks.map(() => new FixedKVCache(this.contextLength)),
      cross: this.blocks.map((block) => block.crossKeysValues(audio)),
    };
  }

  /**
   * Feeds `tokens` (after those already in `state`) and returns the logits [positions, vocab] at
   * the given positions of this call's tokens (0-based): vocabulary-sized rows cost a matrix each,
   * and decoding reads one or two of them.
   */
  forward(tokens: readonly number[], state: DecoderState, positions: readonly number[], crossScores?: mx.array[]): mx.array {
    const offset = state.caches[0].offset;
    const ids = mx.array([tokens as number[]], mx.int32);
    const position = this.positionalEmbedding.index(mx.Slice(offset, offset + tokens.length));
    let x = mx.add(this.tokenEmbedding.forward(ids), position);
    this.blocks.forEach((block, i) => {
      x = block.forward(x, { cache: state.caches[i], cross: state.cross[i], crossScores });
    });
    const rows = mx.take(x.index(0), mx.array(positions as number[], mx.int32), 0);
    return this.tokenEmbedding.asLinear(this.ln.forward(rows));
  }
}

/** A loaded Whisper: encoder, decoder, and the cross-attention heads that follow the timing of speech. */
export class WhisperModel {
  constructor(
    readonly dims: WhisperDimensions,
    readonly encoder: AudioEncoder,
    readonly decoder: TextDecoder,
    /** [layer, head] pairs whose cross-attention aligns tokens with audio (word timestamps). */
    readonly alignmentHeads: ReadonlyArray<readonly [number, number]>,
  ) {}

  /** Builds the model from its weights, every size from the config; `positions` are the encoder's sinusoids. */
  static build(dims: WhisperDimensions, w: WeightStore, positions: mx.array): WhisperModel {
    const encoder = new AudioEncoder(
      w.conv1d('encoder.conv1', dims.nMels, dims.nAudioState, 3, { padding: 1 }),
      w.conv1d('encoder.conv2', dims.nAudioState, dims.nAudioState, 3, { stride: 2, padding: 1 }),
      positions,
      Array.from({ length: dims.nAudioLayer }, (_, i) => ResidualAttentionBlock.build(w, `encoder.blocks.${i}`, dims.nAudioState, dims.nAudioHead, false)),
      w.layerNorm('encoder.ln_post', dims.nAudioState),
    );
    const decoder = new TextDecoder(
      w.embedding('decoder.token_embedding', dims.nVocab, dims.nTextState),
      w.tensor('decoder.positional_embedding', [dims.nTextCtx, dims.nTextState]),
      Array.from({ length: dims.nTextLayer }, (_, i) => ResidualAttentionBlock.build(w, `decoder.blocks.${i}`, dims.nTextState, dims.nTextHead, true)),
      w.layerNorm('decoder.ln', dims.nTextState),
      dims.nTextCtx,
    );
    return new WhisperModel(dims, encoder, decoder, alignmentHeads(dims, w.optionalTensor('alignment_heads')));
  }

  /** Audio features of one window of log-mel frames [2·nAudioCtx, nMels]. */
  encode(mel: mx.array): mx.array {
    return this.encoder.forward(mel.reshape(1, mel.shape[0], mel.shape[1]));
  }
}

/**
 * The heads mlx_whisper's converter stored in `alignment_heads` ([n, 2] int64: layer, head), or,
 * without them, every head of the last half of the decoder's layers (its default).
 */
function alignmentHeads(dims: WhisperDimensions, stored: mx.array | undefined): Array<[number, number]> {
  if (stored !== undefined && stored.ndim === 2 && stored.shape[1] === 2 && stored.shape[0] > 0) {
    return (stored.tolist() as number[][]).map(([layer, head]) => [layer, head]);
  }
  const heads: Array<[number, number]> = [];
  for (let layer = Math.floor(dims.nTextLayer / 2); layer < dims.nTextLayer; layer++) {
    for (let head = 0; head < dims.nTextHead; head++) {
      heads.push([layer, head]);
    }
  }
  return heads;
}
