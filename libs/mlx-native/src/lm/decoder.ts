import { core as mx } from '@frost-beta/mlx';
import { RotatingKVCache, StandardKVCache } from './cache';
import type { Attention } from '../nn/attention';
import type { FeedForward } from '../nn/feed-forward';
import type { ForkableKVCache, LayerCache } from '../nn/kv-cache';
import type { DecoderLanguageModel, ForwardOptions } from './language-model';
import type { Embedding, Linear, RMSNorm } from '../nn/layers';

export interface DecoderLayerParts {
  attention: Attention;
  mlp: FeedForward;
  /** Pre-norm of the attention block. */
  inputNorm: RMSNorm;
  /** Norm of the attention output before the residual add (Gemma's "sandwich" norms). */
  postAttentionNorm?: RMSNorm;
  /** Pre-norm of the MLP block (Llama calls it post_attention_layernorm). */
  preMlpNorm: RMSNorm;
  postMlpNorm?: RMSNorm;
  /** Attend to the last `slidingWindow` positions only (and cache no more). */
  slidingWindow?: number;
}

/** Pre-norm transformer block: h = x + attn(norm(x)); out = h + mlp(norm(h)). */
export class DecoderLayer {
  constructor(readonly parts: DecoderLayerParts) {}

  forward(x: mx.array, cache: LayerCache): mx.array {
    const { attention, mlp, inputNorm, postAttentionNorm, preMlpNorm, postMlpNorm } = this.parts;
    let attended = attention.forward(inputNorm.forward(x), cache);
    if (postAttentionNorm) {
      attended = postAttentionNorm.forward(attended);
    }
    const h = mx.add(x, attended);
    let mixed = mlp.forward(preMlpNorm.forward(h));
    if (postMlpNorm) {
      mixed = postMlpNorm.forward(mixed);
    }
    return mx.add(h, mixed);
  }
}

export interface DecoderParts {
  modelType: string;
  vocabSize: number;
  contextLength: number;
  embedding: Embedding;
  /** Multiplies the embeddings (Gemma scales by √hidden). */
  embeddingScale?: number;
  layers: DecoderLayer[];
  norm: RMSNorm;
  /** Output projection; absent when tied to the embedding table. */
  lmHead?: Linear;
}

/** Decoder-only language model: embed → layers → norm → vocabulary logits. */
export class DecoderModel implements DecoderLanguageModel {
  readonly modelType: string;
  readonly vocabSize: number;
  readonly contextLength: number;

  constructor(private readonly parts: DecoderParts) {
    this.modelType = parts.modelType;
    this.vocabSize = parts.vocabSize;
    this.contextLength = parts.contextLength;
  }

  forward(tokens: mx.array, cache: LayerCache[] = this.createCache(), options: ForwardOptions = {}): mx.array {
    let h = this.layerOutputs(tokens, cache);
    if (options.lastTokenOnly) {
      const length = h.shape[1];
      h = h.index(mx.Slice(), mx.Slice(length - 1, length), mx.Slice());
    }
    return this.logits(this.parts.norm.forward(h));
  }

  hiddenStates(tokens: mx.array, cache: LayerCache[] = this.createCache()): mx.array {
    return this.parts.norm.forward(this.layerOutputs(tokens, cache));
  }

  logits(hidden: mx.array): mx.array {
    const { embedding, lmHead } = this.parts;
    const logits = lmHead ? lmHead.forward(hidden) : embedding.asLinear(hidden);
    return String(logits.dtype) === 'float32' ? logits : logits.astype(mx.float32);
  }

  /** Embedding and every layer, before the final norm (which `lastTokenOnly` applies to one position only). */
  private layerOutputs(tokens: mx.array, cache: LayerCache[]): mx.array {
    const { embedding, embeddingScale, layers } = this.parts;
    if (cache.length !== layers.length) {
      throw new RangeError(`cache has ${cache.length} entries, the model has ${layers.length} layers`);
    }
    let h = embedding.forward(tokens);
    if (embeddingScale !== undefined) {
      h = mx.multiply(h, mx.array(embeddingScale, h.dtype));
    }
    layers.forEach((layer, i) => {
      h = layer.forward(h, cache[i]);
    });
    return h;
  }

  createCache(): ForkableKVCache[] {
    return this.parts.layers.map(({ parts: { slidingWindow } }) =>
      slidingWindow === undefined ? new StandardKVCache() : new RotatingKVCache(slidingWindow),
    );
  }
}
