import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VOICE_FOLDER, voiceNames } from '@mlx-omni/model-families';
import type { SpeechVoice } from '@mlx-omni/openai-dto';
import { ApiError } from '../common/errors/api-error';

/**
 * OpenAI's voice names and the Kokoro voice each is closest to (Kokoro ships voices named after five of
 * them). The others (ash, ballad, coral, sage, shimmer, verse, marin, cedar) have no counterpart.
 */
export const OPENAI_VOICE_COUNTERPARTS: Readonly<Record<string, string>> = {
  alloy: 'af_alloy',
  echo: 'am_echo',
  fable: 'bm_fable',
  onyx: 'am_onyx',
  nova: 'af_nova',
};

/** The voices a text-to-speech model folder holds (read from disk: the API loads no model). */
export async function modelVoices(modelDir: string): Promise<string[]> {
  const entries = await readdir(join(modelDir, VOICE_FOLDER)).catch(() => [] as string[]);
  return voiceNames(entries.map((name) => `${VOICE_FOLDER}/${name}`));
}

/** The model voice a request names: its own, or an OpenAI name's counterpart; 400 listing the voices otherwise. */
export function resolveVoice(requested: SpeechVoice, voices: readonly string[]): string {
  const name = typeof requested === 'string' ? requested : requested.id;
  if (voices.includes(name)) {
    return name;
  }
  const counterpart = OPENAI_VOICE_COUNTERPARTS[name];
  if (counterpart !== undefined && voices.includes(counterpart)) {
    return counterpart;
  }
  throw new ApiError(400, `Unknown voice "${name}"; this model's voices: ${voices.join(', ')}`, { code: 'invalid_value', param: 'voice' });
}
