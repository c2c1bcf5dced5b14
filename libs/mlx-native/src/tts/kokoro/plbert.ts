import { core as mx } from '@frost-beta/mlx';
import { ModelLoadError } from '../../io/errors';
import { requireActivation } from '../../nn/activations';
import type { Embedding, Linear } from '../../nn/layers';
import type { LayerNorm } from '../../nn/norms';
import type { PlBertConfig } from './config';
import type { KokoroWeights } from './weights';

interface AlbertLayer {
  query: Linear;
  key: Linear;
  value: Linear;
  dense: Linear;
  attentionNorm: LayerNorm;
  ffn: Linear;
  ffnOutput: Linear;
  outputNorm: LayerNorm;
}

/**
 * PL-BERT, an ALBERT encoder over phoneme ids (Hugging Face's AlbertModel, last hidden state): factorised
 * embeddings projected to the hidden width, then `layers` post-norm transformer layers whose weights
 * are shared within each of `hiddenGroups` groups. One unpadded sequence, so attention needs no mask.
 */
export class PlBert {
  private readonly wordEmbeddings: Embedding;
  private readonly positionEmbeddings: Embedding;
  private readonly tokenTypeEmbeddings: Embedding;
  private readonly embeddingNorm: LayerNorm;
  private readonly mappingIn: Linear;
  private readonly groups: AlbertLayer[][];
  private readonly activation: (x: mx.array) => mx.array;

  constructor(
    weights: KokoroWeights,
    private readonly config: PlBertConfig,
    tokens: number,
  ) {
    const { hiddenSize: hidden, embeddingSize: embedding, intermediateSize: intermediate, layerNormEps: eps } = config;
    const activation = requireActivation(config.hiddenAct, 'config.json plbert.hidden_act');
    if (hidden % config.heads !== 0) {
      throw new ModelLoadError(`plbert.hidden_size (${hidden}) is not a multiple of num_attention_heads (${config.heads})`);
    }
    this.activation = activation;
    this.wordEmbeddings = weights.embedding('bert.embeddings.word_embeddings', tokens, embedding);
    this.positionEmbeddings = weights.embedding('bert.embeddings.position_embeddings', config.maxPositions, embedding);
    this.tokenTypeEmbeddings = weights.embedding('bert.embeddings.token_type_embeddings', config.typeVocabSize, embedding);
    this.embeddingNorm = weights.layerNorm('bert.embeddings.LayerNorm', embedding, eps);
    this.mappingIn = weights.linear('bert.encoder.embedding_hidden_mapping_in', embedding, hidden);
    this.groups = Array.from({ length: config.hiddenGroups }, (_, g) =>
      Array.from({ length: config.innerGroupLayers }, (_, j): AlbertLayer => {
        const layer = `bert.encoder.albert_layer_groups.${g}.albert_layers.${j}`;
        return {
          query: weights.linear(`${layer}.attention.query`, hidden, hidden),
          key: weights.linear(`${layer}.attention.key`, hidden, hidden),
          value: weights.linear(`${layer}.attention.value`, hidden, hidden),
          dense: weights.linear(`${layer}.attention.dense`, hidden, hidden),
          attentionNorm: weights.layerNorm(`${layer}.attention.LayerNorm`, hidden, eps),
          ffn: weights.linear(`${layer}.ffn`, hidden, intermediate),
          ffnOutput: weights.linear(`${layer}.ffn_output`, intermediate, hidden),
          outputNorm: weights.layerNorm(`${layer}.full_layer_layer_norm`, hidden, eps),
        };
      }),
    );
  }

  get maxPositions(): number {
    return this.config.maxPositions;
  }

  /** ids [1, length] → [1, length, hidden]. */
  forward(ids: mx.array): mx.array {
    const length = ids.shape[1];
    const embedded = mx.add(
      mx.add(this.wordEmbeddings.forward(ids), this.positionEmbeddings.forward(mx.arange(length, mx.int32).reshape(1, length))),
      this.tokenTypeEmbeddings.forward(mx.zeros([1, length], mx.int32)),
    );
    let h = this.mappingIn.forward(this.embeddingNorm.forward(embedded));
    const layersPerGroup = this.config.layers / this.config.hiddenGroups;
    for (let i = 0; i < this.config.layers; i++) {
      for (const layer of this.groups[Math.floor(i / layersPerGroup)]) {
        h = this.layer(layer, h);
      }
    }
    return h;
  }

  private layer(p: AlbertLayer, x: mx.array): mx.array {
    const { heads, hiddenSize } = this.config;
    const headDim = hiddenSize / heads;
    const length = x.shape[1];
    const toHeads = (t: mx.array) => t.reshape(1, length, heads, headDim).transpose(0, 2, 1, 3);
    const context = mx.fast.scaledDotProductAttention(
      toHeads(p.query.forward(x)),
      toHeads(p.key.forward(x)),
      toHeads(p.value.forward(x)),
      1 / Math.sqrt(headDim),
    );
    const attended = p.attentionNorm.forward(mx.add(p.dense.forward(context.transpose(0, 2, 1, 3).reshape(1, length, hiddenSize)), x));
    const ffn = p.ffnOutput.forward(this.activation(p.ffn.forward(attended)));
    return p.outputNorm.forward(mx.add(ffn, attended));
  }
}
