import type { CompanionRepo } from './families';

/**
 * The Vocos vocoder F5-TTS speaks through: lucasnewman/f5-tts-mlx loads it from this repo by name, so the
 * model's folder carries none. The engine reads these two files of it.
 */
export const F5_VOCODER_REPO = 'lucasnewman/vocos-mel-24khz';
export const F5_VOCODER_FILES = ['config.yaml', 'model.safetensors'] as const;

/** F5-TTS's one companion repo (the family's `companions`): what a pull fetches beside the model. */
export const F5_VOCODER_COMPANIONS: readonly CompanionRepo[] = [{ repo: F5_VOCODER_REPO, files: F5_VOCODER_FILES, provides: 'the Vocos vocoder' }];
