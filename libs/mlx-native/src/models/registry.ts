import { UnsupportedModelTypeError } from '../loading/errors';
import type { Architecture } from './architecture';
import { gemma3, gemma3Text } from './gemma3';
import { llama } from './llama';
import { phi3 } from './phi3';
import { qwen2 } from './qwen2';
import { qwen3 } from './qwen3';
import { qwen3Moe } from './qwen3-moe';

/** Every supported `model_type` of config.json. Adding an architecture: its file, and one line here. */
const ARCHITECTURES: Readonly<Record<string, Architecture>> = {
  llama,
  // Mistral's checkpoints are Llama's layers under another name (mlx-lm maps them the same way).
  mistral: llama,
  qwen2,
  qwen3,
  qwen3_moe: qwen3Moe,
  gemma3_text: gemma3Text,
  gemma3,
  phi3,
};

export const SUPPORTED_MODEL_TYPES: readonly string[] = Object.keys(ARCHITECTURES);

export function findArchitecture(modelType: string): Architecture {
  const architecture = Object.hasOwn(ARCHITECTURES, modelType) ? ARCHITECTURES[modelType] : undefined;
  if (!architecture) {
    throw new UnsupportedModelTypeError(modelType, SUPPORTED_MODEL_TYPES);
  }
  return architecture;
}
