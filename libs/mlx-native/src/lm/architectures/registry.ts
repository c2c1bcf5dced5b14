import type { ImplementedFamilyId } from '@mlx-omni/model-families';
import { UnsupportedModelTypeError } from '../../io/errors';
import type { Architecture } from './architecture';
import { gemma3, gemma3Text } from './gemma3';
import { glm4Moe } from './glm4-moe';
import { gptOss } from './gpt-oss';
import { llama } from './llama';
import { phi3 } from './phi3';
import { qwen2 } from './qwen2';
import { qwen3 } from './qwen3';
import { qwen3Moe } from './qwen3-moe';

/**
 * The architecture of every chat family model-families declares `engine: true`, by `model_type`.
 * Keyed by that declaration, so flipping a family on without its architecture here (or the reverse)
 * does not compile. Adding an architecture: its file, one line here, and `engine: true` there.
 */
const ARCHITECTURES: Readonly<Record<ImplementedFamilyId<'chat'>, Architecture>> = {
  llama,
  // Mistral's checkpoints are Llama's layers under another name (mlx-lm maps them the same way).
  mistral: llama,
  qwen2,
  qwen3,
  qwen3_moe: qwen3Moe,
  gemma3_text: gemma3Text,
  gemma3,
  phi3,
  gpt_oss: gptOss,
  glm4_moe: glm4Moe,
};

export const SUPPORTED_MODEL_TYPES: readonly string[] = Object.keys(ARCHITECTURES);

export function findArchitecture(modelType: string): Architecture {
  const architecture = Object.hasOwn(ARCHITECTURES, modelType) ? ARCHITECTURES[modelType as ImplementedFamilyId<'chat'>] : undefined;
  if (!architecture) {
    throw new UnsupportedModelTypeError(modelType, SUPPORTED_MODEL_TYPES);
  }
  return architecture;
}
