/** What the server can do with a model; 'unknown' models are left out of listings. */
export type ModelKind = 'chat' | 'embedding' | 'speech-to-text' | 'text-to-speech' | 'image' | 'unknown';

export type JsonObject = Record<string, unknown>;

/** What classification looks at: config.json and the names of the files present, never the weights. */
export interface ModelSignals {
  /** config.json, or undefined when it is missing or not a JSON object. */
  config: JsonObject | undefined;
  /** Paths relative to the model folder, "/"-separated, of the files that are really there. */
  files: ReadonlySet<string>;
  /** Some weight file is present and every shard a `*.safetensors.index.json` names is too. */
  weightsComplete: boolean;
}

type Need = 'weights' | 'tokenizer';

interface KindRule {
  kind: Exclude<ModelKind, 'unknown'>;
  /** The rule in words, for the docs and for anyone wondering why a model was listed as it was. */
  when: string;
  matches: (signals: ModelSignals) => boolean;
  /** Without these the model is incomplete (a download in progress, a copy cut short): 'unknown'. */
  needs: readonly Need[];
}

// Known families whose config.json may lack `architectures` (older conversions drop it). Whether the
// worker can run a given family is decided when it loads, by mlx-native's registry, which this lib
// cannot import: it loads MLX, and the API process never does.
const CAUSAL_LM_TYPES = new Set([
  'llama', 'mistral', 'mixtral', 'qwen2', 'qwen2_moe', 'qwen3', 'qwen3_moe', 'gemma', 'gemma2', 'gemma3', 'gemma3_text',
  'phi', 'phi3', 'starcoder2', 'cohere', 'deepseek_v2', 'deepseek_v3', 'granite', 'olmo2', 'smollm3', 'gpt_oss', 'glm4',
]);
const ENCODER_TYPES = new Set(['bert', 'roberta', 'xlm-roberta', 'distilbert', 'mpnet', 'nomic_bert', 'modernbert']);
const TTS_TYPES = new Set(['kokoro', 'csm', 'sesame', 'outetts', 'spark', 'dia']);

function modelType(signals: ModelSignals): string | undefined {
  const value = signals.config?.['model_type'];
  return typeof value === 'string' ? value : undefined;
}

function architectures(signals: ModelSignals): string[] {
  const value = signals.config?.['architectures'];
  return Array.isArray(value) ? value.filter((name): name is string => typeof name === 'string') : [];
}

export function objectAt(config: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = config?.[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

function hasFolder(signals: ModelSignals, folder: string): boolean {
  return [...signals.files].some((path) => path.startsWith(`${folder}/`));
}

/**
 * How a model's kind is told from its files: a heuristic over the layouts mlx-lm, mlx-embeddings,
 * mlx-whisper, mlx-audio, mflux and diffusers write, not a guarantee the model loads. The first rule
 * that matches decides; a model it matches that lacks what the rule needs is 'unknown'. Order
 * matters where layouts overlap: whisper is a *ForConditionalGeneration, and sentence-transformers
 * ship decoder LMs (Qwen3-Embedding is a Qwen3ForCausalLM) as embedding models.
 */
export const KIND_RULES: readonly KindRule[] = [
  {
    kind: 'image',
    when: 'a diffusers/mflux model_index.json, or FLUX-style transformer/ and vae/ folders',
    matches: (s) => s.files.has('model_index.json') || (hasFolder(s, 'transformer') && hasFolder(s, 'vae')),
    needs: ['weights'],
  },
  {
    kind: 'text-to-speech',
    when: `model_type one of ${[...TTS_TYPES].join(', ')}`,
    matches: (s) => TTS_TYPES.has(modelType(s) ?? ''),
    needs: ['weights'],
  },
  {
    kind: 'speech-to-text',
    when: 'model_type whisper, or an mlx-whisper config (n_mels) beside weights.npz or weights.safetensors',
    matches: (s) =>
      modelType(s) === 'whisper' ||
      (typeof s.config?.['n_mels'] === 'number' && (s.files.has('weights.npz') || s.files.has('weights.safetensors'))),
    // mlx-whisper folders carry no tokenizer: the library builds Whisper's own.
    needs: ['weights'],
  },
  {
    kind: 'embedding',
    when: `sentence-transformers files (modules.json, config_sentence_transformers.json), or an encoder (${[...ENCODER_TYPES].join(', ')}) whose architectures have no task head`,
    matches: (s) =>
      s.files.has('modules.json') ||
      s.files.has('config_sentence_transformers.json') ||
      (ENCODER_TYPES.has(modelType(s) ?? '') && architectures(s).every((name) => name.endsWith('Model'))),
    needs: ['weights', 'tokenizer'],
  },
  {
    kind: 'chat',
    when: 'architectures ending in ForCausalLM, or ForConditionalGeneration with a text_config (a text tower), or a known causal-LM model_type',
    matches: (s) => {
      const hasTextTower = objectAt(s.config, 'text_config') !== undefined;
      return (
        architectures(s).some((name) => name.endsWith('ForCausalLM') || (hasTextTower && name.endsWith('ForConditionalGeneration'))) ||
        CAUSAL_LM_TYPES.has(modelType(s) ?? '')
      );
    },
    needs: ['weights', 'tokenizer'],
  },
];

function hasTokenizer(files: ReadonlySet<string>): boolean {
  return (
    files.has('tokenizer.json') ||
    files.has('tokenizer.model') ||
    files.has('vocab.txt') ||
    (files.has('vocab.json') && files.has('merges.txt')) ||
    [...files].some((path) => path.endsWith('.tiktoken'))
  );
}

function satisfies(signals: ModelSignals, need: Need): boolean {
  switch (need) {
    case 'weights':
      return signals.weightsComplete;
    case 'tokenizer':
      return hasTokenizer(signals.files);
  }
}

/** The kind by KIND_RULES; 'unknown' when no rule matches or the matching rule's needs are not met. */
export function classifyModel(signals: ModelSignals): ModelKind {
  const rule = KIND_RULES.find((candidate) => candidate.matches(signals));
  return rule !== undefined && rule.needs.every((need) => satisfies(signals, need)) ? rule.kind : 'unknown';
}

/** MLX's `quantization` block (mlx-lm writes it under both names); also read from other quantizers' `quantization_config`. */
export function readQuantization(config: JsonObject | undefined): { bits: number; groupSize: number } | undefined {
  const block = objectAt(config, 'quantization') ?? objectAt(config, 'quantization_config');
  const bits = block?.['bits'];
  const groupSize = block?.['group_size'];
  return typeof bits === 'number' && typeof groupSize === 'number' ? { bits, groupSize } : undefined;
}

// Families name the trained context differently (GPT-2: n_positions, Falcon/Qwen-1: seq_length);
// multimodal configs keep it in the text tower's config.
const CONTEXT_KEYS = ['max_position_embeddings', 'max_seq_len', 'n_positions', 'seq_length', 'n_ctx'];

export function readContextLength(config: JsonObject | undefined): number | undefined {
  for (const source of [config, objectAt(config, 'text_config')]) {
    for (const key of CONTEXT_KEYS) {
      const value = source?.[key];
      if (typeof value === 'number' && Number.isInteger(value) && value > 0) {
        return value;
      }
    }
  }
  return undefined;
}
