import { join } from 'node:path';
import { familyById, type FamilyId, type ImplementedFamilyId, type KindOfFamily } from '@mlx-omni/model-families';
import { ModelLoadError } from './io/errors';
import { keepsQuantized, loadedWeightBytes, readModelJson, safetensorsFiles } from './io/load-weights';
import { ModelConfig } from './io/model-config';
import { parseQuantization } from './io/quantization';
import { fluxWeightBytes, loadFluxPipeline, type FluxLoadOptions } from './image/flux/load';
import type { FluxPipeline } from './image/flux/pipeline';
import { findArchitecture } from './lm/architectures/registry';
import { loadLanguageModel, type LoadedLanguageModel } from './lm/load-language-model';
import { ModelTokenizer } from './text/model-tokenizer';
import {
  embeddingWeightBytes,
  loadEmbeddingModel,
  loadRerankModel,
  type EmbeddingFamilyId,
  type LoadedEmbeddingModel,
  type LoadedRerankModel,
  type RerankFamilyId,
} from './embeddings/load';
import { loadWhisper, whisperWeightBytes } from './whisper/load';
import type { LoadedWhisper } from './whisper/transcribe';
import { f5WeightBytes, loadF5Model } from './tts/f5/load';
import { F5Synthesizer } from './tts/f5/synthesizer';
import { kokoroWeightBytes, loadKokoroModel } from './tts/kokoro/load';
import { KokoroSynthesizer } from './tts/kokoro/synthesizer';
import type { SpeechSynthesizer } from './tts/speech-synthesizer';

/** A chat model ready to generate: its weights and facts (eos ids, config) and its tokenizer. */
export interface LoadedChatModel {
  kind: 'chat';
  lm: LoadedLanguageModel;
  tokenizer: ModelTokenizer;
}

/** A speech-to-text model (Whisper) ready to transcribe, and what its weights occupy. */
export interface LoadedSpeechToTextModel {
  kind: 'speech-to-text';
  whisper: LoadedWhisper;
  weightBytes: number;
}

/** A text-to-image model ready to generate, and what its resident weights occupy. */
export interface LoadedImageModel {
  kind: 'image';
  pipeline: FluxPipeline;
  weightBytes: number;
}

/**
 * What a loaded model of each kind is. A kind gets its entry when its first family is implemented:
 * model-families' `engine: true` on a family whose kind has no entry here does not compile.
 */
export interface LoadedModels {
  chat: LoadedChatModel;
  embedding: LoadedEmbeddingModel;
  rerank: LoadedRerankModel;
  'speech-to-text': LoadedSpeechToTextModel;
  image: LoadedImageModel;
  'text-to-speech': LoadedSpeechModel;
}

/** A text-to-speech model ready to speak, and what its weights occupy. */
export interface LoadedSpeechModel {
  kind: 'text-to-speech';
  synthesizer: SpeechSynthesizer;
  weightBytes: number;
}

export type LoadedModel = LoadedModels[keyof LoadedModels];

/** How the engine loads one family, and what it will occupy once loaded (asked before loading, to make room). */
export interface FamilyLoader<K extends keyof LoadedModels = keyof LoadedModels> {
  load(dir: string, options: FamilyLoadOptions): Promise<LoadedModels[K]>;
  weightBytes(dir: string, options: FamilyLoadOptions): Promise<number>;
}

/** The options every loader takes, plus the memory budget (FLUX keeps T5 resident only when it fits). */
export type FamilyLoadOptions = FluxLoadOptions;

const fluxLoader: FamilyLoader<'image'> = {
  async load(dir, options) {
    const pipeline = await loadFluxPipeline(dir, options);
    return { kind: 'image', pipeline, weightBytes: pipeline.weightBytes };
  },
  weightBytes: fluxWeightBytes,
};

const chatLoader: FamilyLoader<'chat'> = {
  async load(dir, options) {
    const [lm, tokenizer] = await Promise.all([loadLanguageModel(dir, options), ModelTokenizer.load(dir)]);
    return { kind: 'chat', lm, tokenizer };
  },
  async weightBytes(dir, options) {
    const configPath = join(dir, 'config.json');
    const config = new ModelConfig(await readModelJson(configPath, true), configPath);
    const architecture = findArchitecture(config.string('model_type'));
    return loadedWeightBytes(await safetensorsFiles(dir), {
      keepQuantized: keepsQuantized(options.weights),
      keep: (name) => architecture.usesTensor?.(name, config) ?? true,
      quantization: parseQuantization(config),
    });
  },
};

function embeddingLoader(family: EmbeddingFamilyId): FamilyLoader<'embedding'> {
  return { load: (dir, options) => loadEmbeddingModel(family, dir, options), weightBytes: (dir, options) => embeddingWeightBytes(family, dir, options) };
}

function rerankLoader(family: RerankFamilyId): FamilyLoader<'rerank'> {
  return { load: (dir, options) => loadRerankModel(family, dir, options), weightBytes: (dir, options) => embeddingWeightBytes(family, dir, options) };
}

const whisperLoader: FamilyLoader<'speech-to-text'> = {
  async load(dir, options) {
    const { weightBytes, ...whisper } = await loadWhisper(dir, options);
    return { kind: 'speech-to-text', whisper, weightBytes };
  },
  weightBytes: whisperWeightBytes,
};

const kokoroLoader: FamilyLoader<'text-to-speech'> = {
  async load(dir, options) {
    const model = await loadKokoroModel(dir, options);
    return { kind: 'text-to-speech', synthesizer: new KokoroSynthesizer(model, dir), weightBytes: model.weightBytes };
  },
  weightBytes: kokoroWeightBytes,
};

const f5Loader: FamilyLoader<'text-to-speech'> = {
  async load(dir, options) {
    const model = await loadF5Model(dir, options);
    return { kind: 'text-to-speech', synthesizer: new F5Synthesizer(model), weightBytes: model.weightBytes };
  },
  weightBytes: f5WeightBytes,
};

/**
 * The engine's loader of every family model-families declares `engine: true`: the only registry of
 * what the engine runs. Keyed by that declaration, so a family flipped on without its loader, or a
 * loader for a family declared off, does not compile.
 */
const LOADERS: { [F in ImplementedFamilyId]: FamilyLoader<KindOfFamily<F>> } = {
  llama: chatLoader,
  mistral: chatLoader,
  qwen2: chatLoader,
  qwen3: chatLoader,
  qwen3_moe: chatLoader,
  gemma3_text: chatLoader,
  gemma3: chatLoader,
  phi3: chatLoader,
  bert: embeddingLoader('bert'),
  'xlm-roberta': embeddingLoader('xlm-roberta'),
  modernbert: embeddingLoader('modernbert'),
  'qwen3-embedding': embeddingLoader('qwen3-embedding'),
  'cross-encoder': rerankLoader('cross-encoder'),
  'qwen3-reranker': rerankLoader('qwen3-reranker'),
  gpt_oss: chatLoader,
  glm4_moe: chatLoader,
  whisper: whisperLoader,
  flux: fluxLoader,
  kokoro: kokoroLoader,
  'f5-tts': f5Loader,
};

export class UnsupportedFamilyError extends ModelLoadError {
  constructor(readonly family: string) {
    super(`The engine does not run models of the ${family} family`);
  }
}

/** The loader of a family the engine runs; UnsupportedFamilyError for any other (declared or not). */
export function familyLoader(family: FamilyId | string): FamilyLoader {
  const declared = familyById(family);
  if (declared === undefined || !declared.engine || !Object.hasOwn(LOADERS, family)) {
    throw new UnsupportedFamilyError(family);
  }
  return LOADERS[family as ImplementedFamilyId] as FamilyLoader;
}
