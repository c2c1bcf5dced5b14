import { core as mx } from '@frost-beta/mlx';
import { InvalidModelConfigError } from '../io/errors';
import type { ModelConfig } from '../io/model-config';
import type { WeightStore } from '../io/weight-store';
import { BidirectionalAttention, fusedQkv, paddingMask } from '../nn/attention';
import type { Embedding, Linear } from '../nn/layers';
import { geluGlu } from '../nn/activations';
import type { LayerNorm } from '../nn/norms';
import { createRope } from '../nn/rope';
import type { EncoderBatch, TextEncoder } from './text-encoder';

interface ModernBertLayer {
  /** Layer 0 has none: the embeddings' norm precedes it. */
  attentionNorm: LayerNorm | undefined;
  attention: BidirectionalAttention;
  /** Local layers see keys within this many positions either side; global layers see all. */
  window: number | undefined;
  mlpNorm: LayerNorm;
  /** Wi: input and gate halves of the GeGLU, one matrix. */
  mlpIn: Linear;
  mlpOut: Linear;
}

/**
 * ModernBERT (Warner et al. 2024): pre-norm layers with rotary positions, alternating global and
 * sliding-window attention (every `global_attn_every_n_layers`-th layer global, with its own rope
 * base), a GeGLU MLP and bias-free LayerNorms. nomic-ai's modernbert-embed pools it by mean.
 */
export class ModernBertEncoder implements TextEncoder {
  readonly bidirectional = true;

  constructor(
    readonly hiddenSize: number,
    readonly vocabSize: number,
    readonly maxPositions: number,
    readonly padId: number,
    private readonly embedding: Embedding,
    private readonly embeddingNorm: LayerNorm,
    private readonly layers: ModernBertLayer[],
    private readonly finalNorm: LayerNorm,
  ) {}

  forward(batch: EncoderBatch): mx.array {
    const length = batch.ids[0].length;
    let h = this.embeddingNorm.forward(this.embedding.forward(mx.array(batch.ids, mx.int32)));
    const globalMask = paddingMask(batch.lengths, length, h.dtype);
    const localMasks = new Map<number, mx.array | undefined>();
    const maskFor = (window: number | undefined) => {
      if (window === undefined) {
        return globalMask;
      }
      if (!localMasks.has(window)) {
        localMasks.set(window, paddingMask(batch.lengths, length, h.dtype, window));
      }
      return localMasks.get(window);
    };
    for (const layer of this.layers) {
      const attentionInput = layer.attentionNorm ? layer.attentionNorm.forward(h) : h;
      h = mx.add(h, layer.attention.forward(attentionInput, maskFor(layer.window)));
      const [input, gate] = mx.split(layer.mlpIn.forward(layer.mlpNorm.forward(h)), 2, -1);
      h = mx.add(h, layer.mlpOut.forward(geluGlu(input, gate)));
    }
    return this.finalNorm.forward(h);
  }
}

/** ModernBertModel's tensors: `embeddings.*`, `layers.<i>.*`, `final_norm`, at the root or under `model.`. */
export function buildModernBertEncoder(config: ModelConfig, store: WeightStore): ModernBertEncoder {
  const w = store.hasModule('model.embeddings.tok_embeddings') ? store.scoped('model.') : store;
  const hidden = config.int('hidden_size');
  const heads = config.int('num_attention_heads');
  const intermediate = config.int('intermediate_size');
  const vocabSize = config.int('vocab_size');
  const eps = config.number('norm_eps', 1e-5);
  const normBias = config.bool('norm_bias', false);
  const attentionBias = config.bool('attention_bias', false);
  const mlpBias = config.bool('mlp_bias', false);
  const activation = config.string('hidden_activation', 'gelu');
  if (activation !== 'gelu') {
    throw new InvalidModelConfigError(config.source, `hidden_activation "${activation}" is not supported (only gelu)`);
  }
  const maxPositions = config.int('max_position_embeddings', 8192);
  const globalEvery = config.int('global_attn_every_n_layers', 3);
  const localWindow = config.int('local_attention', 128);
  const headDim = hidden / heads;
  const rope = (base: number) => createRope({ dims: headDim, base, traditional: false, maxPositionEmbeddings: maxPositions });
  const globalRope = rope(config.number('global_rope_theta', 160000));
  const localRope = rope(config.number('local_rope_theta', 10000));
  const norm = (module: string) => w.layerNorm(module, hidden, eps, { bias: normBias });

  const layers = Array.from({ length: config.int('num_hidden_layers') }, (_, i): ModernBertLayer => {
    const p = `layers.${i}`;
    const global = i % globalEvery === 0;
    return {
      attentionNorm: i === 0 ? undefined : norm(`${p}.attn_norm`),
      attention: new BidirectionalAttention({
        qkv: fusedQkv(w.linear(`${p}.attn.Wqkv`, hidden, 3 * hidden, { bias: attentionBias }), hidden, hidden),
        out: w.linear(`${p}.attn.Wo`, hidden, hidden, { bias: attentionBias }),
        heads,
        scale: 1 / Math.sqrt(headDim),
        rope: global ? globalRope : localRope,
      }),
      window: global ? undefined : Math.floor(localWindow / 2),
      mlpNorm: norm(`${p}.mlp_norm`),
      mlpIn: w.linear(`${p}.mlp.Wi`, hidden, 2 * intermediate, { bias: mlpBias }),
      mlpOut: w.linear(`${p}.mlp.Wo`, intermediate, hidden, { bias: mlpBias }),
    };
  });
  return new ModernBertEncoder(
    hidden,
    vocabSize,
    maxPositions,
    config.int('pad_token_id', 50283),
    w.embedding('embeddings.tok_embeddings', vocabSize, hidden),
    norm('embeddings.norm'),
    layers,
    norm('final_norm'),
  );
}

/** The masked-LM head (`head.*`, `decoder.*`) of ModernBertForMaskedLM checkpoints is never read. */
export function modernBertUsesTensor(name: string): boolean {
  return !/^(model\.)?(head|decoder)\./.test(name);
}
