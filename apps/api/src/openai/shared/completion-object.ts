import { randomUUID } from 'node:crypto';
import type { GenerationResult } from '@mlx-omni/ipc';
import type { UsageDto } from '@mlx-omni/openai-dto';
import { unixSeconds } from '../../common/unix-seconds';

/** Identifies this build in `system_fingerprint`, as OpenAI does per backend configuration. */
export const SYSTEM_FINGERPRINT = 'fp_mlx_omni_0_1_0';

/** What every object and chunk of one completion repeats. */
export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

/** A fresh identity for one completion; `prefix` is OpenAI's (`chatcmpl`, `cmpl`). */
export function newCompletionIdentity(prefix: string, model: string): CompletionIdentity {
  return { id: `${prefix}-${randomUUID().replace(/-/g, '')}`, created: unixSeconds(Date.now()), model };
}

export function toUsage(result: GenerationResult): UsageDto {
  return {
    prompt_tokens: result.promptTokens,
    completion_tokens: result.completionTokens,
    total_tokens: result.promptTokens + result.completionTokens,
    prompt_tokens_details: { cached_tokens: result.cachedTokens },
    completion_tokens_details: { reasoning_tokens: result.reasoningTokens },
  };
}
