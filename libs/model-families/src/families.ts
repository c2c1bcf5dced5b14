import { F5_VOCODER_COMPANIONS } from './f5';
import { DIFFUSIONKIT_COMPANIONS, fluxLayoutOf } from './image-layouts';
import { architecturesOf, hasModuleFolder, hasTokenizer, isF5Checkpoint, isSentenceTransformer, modelTypeOf, objectAt, type ModelSignals } from './signals';
import { voiceNames } from './voices';
import { isMlxWhisperConfig, whisperTokenizerCompanions } from './whisper';

/** What the server can do with a model; each kind is served by its own routes. */
export const MODEL_KINDS = ['chat', 'embedding', 'rerank', 'speech-to-text', 'text-to-speech', 'image'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** The markup a chat model writes tool calls in; the worker has one parser per format. */
export const TOOL_CALL_FORMATS = ['hermes', 'llama3', 'mistral', 'gemma', 'qwen3_coder', 'harmony', 'glm45'] as const;
export type ToolCallFormat = (typeof TOOL_CALL_FORMATS)[number];

/** What a model folder must also hold to be usable; without it the model is incomplete and not listed. */
export type FamilyNeed = 'weights' | 'tokenizer' | 'voices';

export interface FamilyDeclaration {
  /** Stable name: the `model_type` for chat architectures, else the family's usual name. */
  readonly id: string;
  readonly kind: ModelKind;
  /** Whether libs/mlx-native runs it. A listed family it does not run answers 400 `model_not_supported`. */
  readonly engine: boolean;
  /** The matching rule in words, for the docs and for anyone wondering why a model was listed as it was. */
  readonly when: string;
  matches(signals: ModelSignals): boolean;
  readonly needs: readonly FamilyNeed[];
  /** Chat families: the tool-call format to expect when the chat template does not reveal one. */
  readonly toolCallFormat?: ToolCallFormat;
  /**
   * Other repos a model of this family takes files from (DiffusionKit's FLUX its text encoders,
   * mlx-community's Whisper conversions their tokenizer), told from the same signals; pulling the
   * model pulls those files too, and the loader gets their cached folders.
   */
  companions?(signals: ModelSignals): readonly CompanionRepo[];
  /**
   * Text-to-speech families: where a request's voice comes from: one of the packs the model folder ships
   * (`bundled`: Kokoro's voices/*.safetensors), or a reference clip registered on the server that the
   * model clones (`cloned`: F5-TTS, POST /v1/audio/voices).
   */
  readonly voices?: 'bundled' | 'cloned';
}

/** Another repo whose files a model needs, and which of its files. */
export interface CompanionRepo {
  readonly repo: string;
  /** Paths in that repo; a pull fetches only these (such repos hold many other, large files). */
  readonly files: readonly string[];
  /** What the model takes from it, in words, for /v1/models and load errors. */
  readonly provides: string;
}

/** Encoders with BERT's layers (RoBERTa and XLM-RoBERTa differ only in how they number positions). */
const BERT_TYPES = ['bert', 'roberta', 'xlm-roberta'];
const OTHER_ENCODER_TYPES = ['distilbert', 'mpnet', 'nomic_bert'];
const OTHER_TTS_TYPES = ['csm', 'sesame', 'outetts', 'spark', 'dia'];

/** A config-less or task-head-less encoder: every architecture a bare `*Model`. */
const headless = (s: ModelSignals): boolean => architecturesOf(s).every((name) => name.endsWith('Model'));

/** A decoder-only language model (or the text tower of a multimodal one). */
function isCausalLm(s: ModelSignals): boolean {
  const hasTextTower = objectAt(s.config, 'text_config') !== undefined;
  return architecturesOf(s).some((name) => name.endsWith('ForCausalLM') || (hasTextTower && name.endsWith('ForConditionalGeneration')));
}

/** An embedding encoder told by `model_type`: packaged by sentence-transformers, or a bare `*Model` without a task head. */
function encoderEmbedding<const Id extends string>(id: Id, modelTypes: readonly string[]): FamilyDeclaration & { id: Id; kind: 'embedding'; engine: true } {
  return {
    id,
    kind: 'embedding',
    engine: true,
    when: `model_type ${modelTypes.join(' or ')}, packaged by sentence-transformers or without a task head`,
    matches: (s) => modelTypes.includes(modelTypeOf(s) ?? '') && (isSentenceTransformer(s) || headless(s)),
    needs: ['weights', 'tokenizer'],
  };
}

/**
 * A chat architecture, told by `model_type` (older conversions drop `architectures`). Sentence-
 * transformers packagings of the same architecture are embedding models, matched earlier.
 */
function causalLm<const Id extends string, const Engine extends boolean>(
  id: Id,
  engine: Engine,
  toolCallFormat: ToolCallFormat,
): FamilyDeclaration & { id: Id; kind: 'chat'; engine: Engine } {
  return {
    id,
    kind: 'chat',
    engine,
    when: `model_type ${id}`,
    matches: (s) => modelTypeOf(s) === id,
    needs: ['weights', 'tokenizer'],
    toolCallFormat,
  };
}

/**
 * The one declaration of model families. The hub's classification (which kind a folder is, whether it
 * is complete), the engine's loaders (`libs/mlx-native` keys its loader table by the families declared
 * `engine: true`, so a missing or extra loader does not compile) and `/v1/models` derive from it.
 *
 * The first family whose rule matches decides. Order matters where layouts overlap: Whisper is a
 * *ForConditionalGeneration, sentence-transformers ship decoder LMs (Qwen3-Embedding and
 * Qwen3-Reranker are Qwen3ForCausalLMs) as embedding models and rerankers, and cross-encoders are
 * BERTs with a classification head.
 */
export const MODEL_FAMILIES = [
  {
    id: 'flux',
    kind: 'image',
    engine: true,
    when: 'FLUX.1 in one of its three layouts: diffusers (model_index.json naming a FluxPipeline), mflux saves (transformer/0.safetensors beside vae/ and text_encoder*/), DiffusionKit/BFL files (flux*.safetensors beside ae.safetensors)',
    matches: (s) => fluxLayoutOf(s.files, s.modelIndex) !== undefined,
    needs: ['weights'],
    companions: (s) => (fluxLayoutOf(s.files, s.modelIndex) === 'diffusionkit' ? DIFFUSIONKIT_COMPANIONS : []),
  },
  {
    id: 'diffusers-pipeline',
    kind: 'image',
    engine: false,
    when: 'any other diffusers pipeline (a model_index.json): Stable Diffusion, SDXL, FLUX.2, FLUX.1 Fill/Kontext, …',
    matches: (s) => s.files.has('model_index.json'),
    needs: ['weights'],
  },
  {
    id: 'kokoro',
    kind: 'text-to-speech',
    engine: true,
    when: 'a config.json with istftnet, plbert and vocab sections (Kokoro-82M and its mlx-community copies have no model_type), or model_type kokoro (newer mlx-audio conversions); voices in voices/*.safetensors',
    matches: (s) =>
      modelTypeOf(s) === 'kokoro' ||
      (objectAt(s.config, 'istftnet') !== undefined && objectAt(s.config, 'plbert') !== undefined && objectAt(s.config, 'vocab') !== undefined),
    needs: ['weights', 'voices'],
    voices: 'bundled',
  },
  {
    id: 'f5-tts',
    kind: 'text-to-speech',
    engine: true,
    when: "no config.json; lucasnewman/f5-tts-mlx's model_v1.safetensors (or a 4/8-bit model_v1_*b.safetensors) beside vocab.txt; speaks through the Vocos vocoder of lucasnewman/vocos-mel-24khz",
    matches: (s) => s.config === undefined && s.files.has('vocab.txt') && [...s.files].some(isF5Checkpoint),
    needs: ['weights'],
    companions: () => F5_VOCODER_COMPANIONS,
    voices: 'cloned',
  },
  {
    id: 'other-tts',
    kind: 'text-to-speech',
    engine: false,
    when: `model_type one of ${OTHER_TTS_TYPES.join(', ')}`,
    matches: (s) => OTHER_TTS_TYPES.includes(modelTypeOf(s) ?? ''),
    needs: ['weights'],
  },
  {
    id: 'whisper',
    kind: 'speech-to-text',
    engine: true,
    when: 'an mlx_whisper config.json (its ten dimensions n_mels … n_text_layer) beside model.safetensors, weights.safetensors or weights.npz',
    matches: (s) =>
      isMlxWhisperConfig(s.config) && ['model.safetensors', 'weights.safetensors', 'weights.npz'].some((file) => s.files.has(file)),
    // mlx-whisper folders carry no tokenizer: it comes from the matching openai/whisper-* repo.
    needs: ['weights'],
    companions: whisperTokenizerCompanions,
  },
  {
    id: 'whisper-transformers',
    kind: 'speech-to-text',
    engine: false,
    when: 'model_type whisper in the Hugging Face transformers layout (openai/whisper-*, distil-whisper/* as published: num_mel_bins, d_model)',
    matches: (s) => modelTypeOf(s) === 'whisper',
    needs: ['weights', 'tokenizer'],
  },
  {
    id: 'cross-encoder',
    kind: 'rerank',
    engine: true,
    when: 'a BERT or (XLM-)RoBERTa with a sequence-classification head (sentence-transformers CrossEncoder, ms-marco-MiniLM, bge-reranker)',
    matches: (s) => BERT_TYPES.includes(modelTypeOf(s) ?? '') && architecturesOf(s).some((name) => name.endsWith('ForSequenceClassification')),
    needs: ['weights', 'tokenizer'],
  },
  {
    id: 'qwen3-reranker',
    kind: 'rerank',
    engine: true,
    when: 'model_type qwen3 packaged as a sentence-transformers generative reranker (a *_LogitScore module folder: Qwen3-Reranker), or a Qwen3ForSequenceClassification',
    matches: (s) =>
      modelTypeOf(s) === 'qwen3' &&
      (hasModuleFolder(s, 'LogitScore') || architecturesOf(s).includes('Qwen3ForSequenceClassification')),
    needs: ['weights', 'tokenizer'],
  },
  {
    id: 'qwen3-embedding',
    kind: 'embedding',
    engine: true,
    when: 'model_type qwen3 packaged by sentence-transformers (modules.json or config_sentence_transformers.json)',
    matches: (s) => modelTypeOf(s) === 'qwen3' && isSentenceTransformer(s),
    needs: ['weights', 'tokenizer'],
  },
  encoderEmbedding('bert', ['bert']),
  encoderEmbedding('xlm-roberta', ['xlm-roberta', 'roberta']),
  encoderEmbedding('modernbert', ['modernbert']),
  {
    id: 'encoder-embedding',
    kind: 'embedding',
    engine: false,
    when: `sentence-transformers files (modules.json, config_sentence_transformers.json), or another encoder (${OTHER_ENCODER_TYPES.join(', ')}) whose architectures have no task head`,
    matches: (s) => isSentenceTransformer(s) || (OTHER_ENCODER_TYPES.includes(modelTypeOf(s) ?? '') && headless(s)),
    needs: ['weights', 'tokenizer'],
  },
  causalLm('llama', true, 'llama3'),
  causalLm('mistral', true, 'mistral'),
  causalLm('qwen2', true, 'hermes'),
  causalLm('qwen3', true, 'hermes'),
  causalLm('qwen3_moe', true, 'hermes'),
  causalLm('gemma3_text', true, 'gemma'),
  causalLm('gemma3', true, 'gemma'),
  causalLm('phi3', true, 'hermes'),
  causalLm('mixtral', false, 'mistral'),
  causalLm('mistral3', false, 'mistral'),
  causalLm('qwen2_moe', false, 'hermes'),
  causalLm('gemma', false, 'gemma'),
  causalLm('gemma2', false, 'gemma'),
  causalLm('phi', false, 'hermes'),
  causalLm('starcoder2', false, 'hermes'),
  causalLm('cohere', false, 'hermes'),
  causalLm('deepseek_v2', false, 'hermes'),
  causalLm('deepseek_v3', false, 'hermes'),
  causalLm('granite', false, 'hermes'),
  causalLm('olmo2', false, 'hermes'),
  causalLm('smollm3', false, 'hermes'),
  causalLm('gpt_oss', true, 'harmony'),
  causalLm('glm4', false, 'hermes'),
  causalLm('glm4_moe', true, 'glm45'),
  {
    id: 'causal-lm',
    kind: 'chat',
    engine: false,
    when: 'any other architecture ending in ForCausalLM, or ForConditionalGeneration with a text_config (a text tower)',
    matches: isCausalLm,
    needs: ['weights', 'tokenizer'],
    toolCallFormat: 'hermes',
  },
] as const satisfies readonly FamilyDeclaration[];

export type ModelFamily = (typeof MODEL_FAMILIES)[number];
export type FamilyId = ModelFamily['id'];
/** The families the engine runs, optionally of one kind: the keys of mlx-native's loader table. */
export type ImplementedFamily<K extends ModelKind = ModelKind> = Extract<ModelFamily, { engine: true; kind: K }>;
export type ImplementedFamilyId<K extends ModelKind = ModelKind> = ImplementedFamily<K>['id'];
export type KindOfFamily<F extends FamilyId> = Extract<ModelFamily, { id: F }>['kind'];

/** Where a model of a family stands: found and complete, or found but missing what its family needs. */
export interface Classification {
  readonly family: FamilyDeclaration;
  /** False when the folder lacks what the family needs (a download in progress, a copy cut short). */
  readonly complete: boolean;
  /** The other repos this model takes files from (the family's `companions`). */
  readonly companions: readonly CompanionRepo[];
}

function satisfies(signals: ModelSignals, need: FamilyNeed): boolean {
  switch (need) {
    case 'weights':
      return signals.weightsComplete;
    case 'tokenizer':
      return hasTokenizer(signals.files);
    case 'voices':
      return voiceNames(signals.files).length > 0;
  }
}

/**
 * The first family whose rule matches, whether the folder has what that family needs, and the repos it
 * takes files from; undefined when none matches.
 */
export function classifyModel(signals: ModelSignals): Classification | undefined {
  const family: FamilyDeclaration | undefined = MODEL_FAMILIES.find((candidate: FamilyDeclaration) => candidate.matches(signals));
  return family === undefined
    ? undefined
    : { family, complete: family.needs.every((need) => satisfies(signals, need)), companions: family.companions?.(signals) ?? [] };
}

export function familyById(id: string): FamilyDeclaration | undefined {
  return MODEL_FAMILIES.find((family: FamilyDeclaration) => family.id === id);
}

/** The ids of the families of a kind the engine runs, for "supported: ..." messages. */
export function supportedFamilies(kind: ModelKind): string[] {
  return MODEL_FAMILIES.filter((family: FamilyDeclaration) => family.kind === kind && family.engine).map((family) => family.id);
}
