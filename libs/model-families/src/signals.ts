export type JsonObject = Record<string, unknown>;

/** What a model's family is told from: config.json and the names of the files present, never the weights. */
export interface ModelSignals {
  /** config.json, or undefined when it is missing or not a JSON object. */
  config: JsonObject | undefined;
  /** diffusers' model_index.json (which pipeline the folder holds), when there is one. */
  modelIndex?: JsonObject | undefined;
  /** Paths relative to the model folder, "/"-separated, of the files that are really there. */
  files: ReadonlySet<string>;
  /** Some weight file is present and every shard a `*.safetensors.index.json` names is too. */
  weightsComplete: boolean;
}

export function objectAt(config: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = config?.[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

export function modelTypeOf(signals: ModelSignals): string | undefined {
  const value = signals.config?.['model_type'];
  return typeof value === 'string' ? value : undefined;
}

export function architecturesOf(signals: ModelSignals): string[] {
  const value = signals.config?.['architectures'];
  return Array.isArray(value) ? value.filter((name): name is string => typeof name === 'string') : [];
}

/** Whether some file lies under `folder/`. */
export function hasFolder(files: ReadonlySet<string>, folder: string): boolean {
  return [...files].some((path) => path.startsWith(`${folder}/`));
}

/** The tokenizer formats the engine and the hub know: Hugging Face's, sentencepiece, BPE pairs, WordPiece, tiktoken. */
export function hasTokenizer(files: ReadonlySet<string>): boolean {
  return (
    files.has('tokenizer.json') ||
    files.has('tokenizer.model') ||
    files.has('vocab.txt') ||
    (files.has('vocab.json') && files.has('merges.txt')) ||
    [...files].some((path) => path.endsWith('.tiktoken'))
  );
}

/** sentence-transformers packaging: the model is meant to be pooled into one vector per input. */
export function isSentenceTransformer(signals: ModelSignals): boolean {
  return signals.files.has('modules.json') || signals.files.has('config_sentence_transformers.json');
}

/** lucasnewman/f5-tts-mlx's checkpoint names: `model_v1.safetensors` and its 4/8-bit conversions (`model_v1_8b.safetensors`). */
export function isF5Checkpoint(path: string): boolean {
  return /^model_v\d+(_\d+b)?\.safetensors$/.test(path);
}

/**
 * A sentence-transformers module folder of the given class (`1_Pooling/`, `1_LogitScore/`): saved as
 * `<index>_<Class>/config.json`, so the file list tells a module without reading modules.json.
 */
export function hasModuleFolder(signals: ModelSignals, moduleClass: string): boolean {
  const pattern = new RegExp(`^\\d+_${moduleClass}/config\\.json$`);
  return [...signals.files].some((path) => pattern.test(path));
}
