import { core as mx } from '@frost-beta/mlx';
import { join } from 'node:path';
import { ModelLoadError } from '../io/errors';
import { keepsQuantized, loadedWeightBytes, loadWeights, readModelJson, safetensorsFiles, type LoadOptions } from '../io/load-weights';
import { ModelConfig } from '../io/model-config';
import { parseQuantization } from '../io/quantization';
import { readSafetensorsHeader } from '../io/safetensors';
import type { WeightStore } from '../io/weight-store';
import { findArchitecture } from '../lm/architectures/registry';
import type { DecoderLanguageModel } from '../lm/language-model';
import { ModelTokenizer } from '../text/model-tokenizer';
import { bertUsesTensor, buildBertEncoder } from './bert';
import { EmbeddingModel } from './embedding-model';
import { buildModernBertEncoder, modernBertUsesTensor } from './modernbert';
import {
  bertClassifierHead,
  labelCount,
  lastTokenScoreHead,
  logitScoreHead,
  QWEN3_RERANKER_DEFAULT_INSTRUCTION,
  qwen3RerankerPrompt,
  RerankModel,
  robertaClassifierHead,
  type PairEncoder,
  type RelevanceHead,
} from './rerank-model';
import { readSentenceTransformerSetup, type SentenceTransformerSetup } from './sentence-transformers';
import type { EncoderBatch, TextEncoder } from './text-encoder';

/** An embedding model ready to embed, and what its weights occupy. */
export interface LoadedEmbeddingModel {
  kind: 'embedding';
  embedder: EmbeddingModel;
  weightBytes: number;
}

/** A reranker ready to score, and what its weights occupy. */
export interface LoadedRerankModel {
  kind: 'rerank';
  reranker: RerankModel;
  weightBytes: number;
}

/** What one family reads from a checkpoint and how it builds its network from the loaded tensors. */
interface Recipe<M> {
  /** Checkpoint tensors the model reads (by the checkpoint's names); the rest is never loaded. */
  keep(name: string): boolean;
  /** Checkpoint name → the name the builder asks for, when the checkpoint spells it otherwise. */
  rename?(names: ReadonlySet<string>): ((name: string) => string) | undefined;
  build(parts: { config: ModelConfig; store: WeightStore; tokenizer: ModelTokenizer; setup: SentenceTransformerSetup }): M;
}

/** A decoder's last hidden states as an encoder: causal attention, so right padding never reaches a real token. */
class DecoderTextEncoder implements TextEncoder {
  readonly bidirectional = false;

  constructor(
    readonly model: DecoderLanguageModel,
    readonly hiddenSize: number,
    readonly padId: number,
  ) {}

  get vocabSize(): number {
    return this.model.vocabSize;
  }

  get maxPositions(): number {
    return this.model.contextLength;
  }

  forward(batch: EncoderBatch): mx.array {
    return this.model.hiddenStates(mx.array(batch.ids, mx.int32));
  }
}

/**
 * The decoder of a Qwen3 embedder or reranker. Qwen's own checkpoints of these were saved from the
 * bare Qwen3Model, without the `model.` prefix mlx-lm's conversions have; both load.
 */
function decoderRecipePart(keepHead: boolean): Pick<Recipe<unknown>, 'keep' | 'rename'> {
  return {
    keep: (name) => keepHead || !name.startsWith('lm_head.'),
    rename: (names) => (names.has('model.norm.weight') ? undefined : (name) => (name.startsWith('lm_head.') || name.startsWith('score.') ? name : `model.${name}`)),
  };
}

function buildDecoder(config: ModelConfig, store: WeightStore, withHead: boolean): DecoderTextEncoder {
  // Without its head the decoder is built as if tied: the head is then never computed, and an
  // embedder's checkpoint has no lm_head to read.
  const decoderConfig = withHead ? config : new ModelConfig({ ...config.raw, tie_word_embeddings: true }, config.source);
  const model = findArchitecture(config.string('model_type')).build(decoderConfig, store);
  return new DecoderTextEncoder(model, config.int('hidden_size'), config.int('pad_token_id', 0));
}

function maxTokens(encoder: TextEncoder, setup: SentenceTransformerSetup): number {
  return Math.min(setup.maxSeqLength ?? Infinity, encoder.maxPositions);
}

function embedder(encoder: TextEncoder, tokenizer: ModelTokenizer, setup: SentenceTransformerSetup, matryoshka: boolean): EmbeddingModel {
  return new EmbeddingModel(encoder, tokenizer, {
    pooling: setup.pooling ?? (encoder.bidirectional ? 'mean' : 'lasttoken'),
    normalize: setup.normalize,
    maxTokens: maxTokens(encoder, setup),
    matryoshka,
  });
}

const bertEmbedding: Recipe<EmbeddingModel> = {
  // The pooler of BertModel checkpoints is not part of a sentence embedding.
  keep: (name) => bertUsesTensor(name) && !/^(bert\.|roberta\.)?pooler\./.test(name),
  build: ({ config, store, tokenizer, setup }) => embedder(buildBertEncoder(config, store), tokenizer, setup, false),
};

const modernBertEmbedding: Recipe<EmbeddingModel> = {
  keep: modernBertUsesTensor,
  build: ({ config, store, tokenizer, setup }) => embedder(buildModernBertEncoder(config, store), tokenizer, setup, false),
};

const qwen3Embedding: Recipe<EmbeddingModel> = {
  ...decoderRecipePart(false),
  // Qwen3-Embedding is trained with Matryoshka representation learning (its model card: "MRL support").
  build: ({ config, store, tokenizer, setup }) => embedder(buildDecoder(config, store, false), tokenizer, setup, true),
};

function singleLabel(config: ModelConfig): void {
  const labels = labelCount(config);
  if (labels !== 1) {
    throw new ModelLoadError(`${config.source}: a reranker has one output label; this classifier has ${labels}`);
  }
}

const crossEncoder: Recipe<RerankModel> = {
  keep: bertUsesTensor,
  build: ({ config, store, tokenizer, setup }) => {
    singleLabel(config);
    const encoder = buildBertEncoder(config, store);
    const head = config.string('model_type') === 'bert' ? bertClassifierHead(store, encoder.hiddenSize) : robertaClassifierHead(store, encoder.hiddenSize);
    const pairs: PairEncoder = (query, document) => tokenizer.encodePair(query, document);
    return new RerankModel(encoder, head, pairs, maxTokens(encoder, setup));
  },
};

const qwen3Reranker: Recipe<RerankModel> = {
  ...decoderRecipePart(true),
  build: ({ config, store, tokenizer, setup }) => {
    const sequenceClassifier = !setup.logitScore;
    if (sequenceClassifier) {
      singleLabel(config);
    }
    const encoder = buildDecoder(config, store, !sequenceClassifier);
    const head: RelevanceHead = setup.logitScore
      ? logitScoreHead(encoder.model, setup.logitScore.trueTokenId, setup.logitScore.falseTokenId)
      : lastTokenScoreHead(store, encoder.hiddenSize);
    const instruction = (setup.defaultPromptName && setup.prompts[setup.defaultPromptName]) || QWEN3_RERANKER_DEFAULT_INSTRUCTION;
    // The prompt carries every special token it needs; the post-processor adds none to it.
    const pairs: PairEncoder = (query, document) => ({ ids: tokenizer.encode(qwen3RerankerPrompt(instruction, query, document), { addSpecialTokens: false }) });
    return new RerankModel(encoder, head, pairs, maxTokens(encoder, setup));
  },
};

async function checkpoint(dir: string): Promise<{ config: ModelConfig; files: string[] }> {
  const configPath = join(dir, 'config.json');
  return { config: new ModelConfig(await readModelJson(configPath, true), configPath), files: await safetensorsFiles(dir) };
}

async function loadWith<M>(recipe: Recipe<M>, dir: string, options: LoadOptions): Promise<{ model: M; weightBytes: number }> {
  const { config, files } = await checkpoint(dir);
  const names = new Set((await Promise.all(files.map(readSafetensorsHeader))).flat().map((tensor) => tensor.name));
  const [store, tokenizer, setup] = await Promise.all([
    loadWeights(files, {
      modelDir: dir,
      quantization: parseQuantization(config),
      keepQuantized: keepsQuantized(options.weights),
      keep: (name) => recipe.keep(name),
      rename: recipe.rename?.(names),
    }),
    ModelTokenizer.load(dir),
    readSentenceTransformerSetup(dir),
  ]);
  return { model: recipe.build({ config, store, tokenizer, setup }), weightBytes: store.residentBytes() };
}

async function weightBytesWith(recipe: Recipe<unknown>, dir: string, options: LoadOptions): Promise<number> {
  const { config, files } = await checkpoint(dir);
  return loadedWeightBytes(files, { keepQuantized: keepsQuantized(options.weights), keep: (name) => recipe.keep(name), quantization: parseQuantization(config) });
}

/** The engine's embedding recipes, by the families model-families declares. */
const EMBEDDING_RECIPES = { bert: bertEmbedding, 'xlm-roberta': bertEmbedding, modernbert: modernBertEmbedding, 'qwen3-embedding': qwen3Embedding };
const RERANK_RECIPES = { 'cross-encoder': crossEncoder, 'qwen3-reranker': qwen3Reranker };

export type EmbeddingFamilyId = keyof typeof EMBEDDING_RECIPES;
export type RerankFamilyId = keyof typeof RERANK_RECIPES;

export async function loadEmbeddingModel(family: EmbeddingFamilyId, dir: string, options: LoadOptions = {}): Promise<LoadedEmbeddingModel> {
  const { model, weightBytes } = await loadWith(EMBEDDING_RECIPES[family], dir, options);
  return { kind: 'embedding', embedder: model, weightBytes };
}

export async function loadRerankModel(family: RerankFamilyId, dir: string, options: LoadOptions = {}): Promise<LoadedRerankModel> {
  const { model, weightBytes } = await loadWith(RERANK_RECIPES[family], dir, options);
  return { kind: 'rerank', reranker: model, weightBytes };
}

/** Bytes the model's weights will occupy once loaded, from the safetensors headers alone. */
export function embeddingWeightBytes(family: EmbeddingFamilyId | RerankFamilyId, dir: string, options: LoadOptions = {}): Promise<number> {
  const recipe: Recipe<unknown> = family in EMBEDDING_RECIPES ? EMBEDDING_RECIPES[family as EmbeddingFamilyId] : RERANK_RECIPES[family as RerankFamilyId];
  return weightBytesWith(recipe, dir, options);
}
