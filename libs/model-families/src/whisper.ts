import type { CompanionRepo } from './families';
import type { JsonObject, ModelSignals } from './signals';

/**
 * The openai/whisper-* repo whose tokenizer a Whisper vocabulary size uses. mlx-community's
 * conversions carry no tokenizer (mlx_whisper bundles its own), and every model with the same
 * vocabulary shares one: 51866 the large-v3 family (100 languages), 51865 the multilingual models
 * before it (99 languages), 51864 the English-only `.en` models.
 */
export const WHISPER_TOKENIZER_REPOS: Readonly<Record<number, string>> = {
  51866: 'openai/whisper-large-v3-turbo',
  51865: 'openai/whisper-large-v2',
  51864: 'openai/whisper-medium.en',
};

/** The files of those repos the engine reads (the rest of each repo is PyTorch weights it does not need). */
export const WHISPER_TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

/** The ten dimensions mlx_whisper's config.json holds (its `ModelDimensions`). */
export const WHISPER_DIMENSION_KEYS = [
  'n_mels', 'n_audio_ctx', 'n_audio_state', 'n_audio_head', 'n_audio_layer',
  'n_vocab', 'n_text_ctx', 'n_text_state', 'n_text_head', 'n_text_layer',
] as const;

/** An mlx_whisper config: every dimension key a number. */
export function isMlxWhisperConfig(config: JsonObject | undefined): boolean {
  return config !== undefined && WHISPER_DIMENSION_KEYS.every((key) => typeof config[key] === 'number');
}

/** The repo a Whisper model's tokenizer comes from, by its vocabulary size; undefined for a size no published model has. */
export function whisperTokenizerRepo(config: JsonObject | undefined): string | undefined {
  const vocab = config?.['n_vocab'];
  return typeof vocab === 'number' ? WHISPER_TOKENIZER_REPOS[vocab] : undefined;
}

/**
 * The openai/whisper-* repo a Whisper folder without a tokenizer.json takes it from (none when the folder
 * carries its own, converted along with it, or when its vocabulary size matches no published model).
 */
export function whisperTokenizerCompanions(signals: ModelSignals): readonly CompanionRepo[] {
  const repo = signals.files.has('tokenizer.json') ? undefined : whisperTokenizerRepo(signals.config);
  return repo === undefined ? [] : [{ repo, files: WHISPER_TOKENIZER_FILES, provides: 'the tokenizer' }];
}
