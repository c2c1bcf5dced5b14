import { join } from 'node:path';
import { whisperTokenizerRepo } from '@mlx-omni/model-families';
import { cachedRepoFolder, fileExists } from '../io/companion-repos';
import { ModelIncompleteError } from '../io/errors';
import type { JsonObject } from '../io/model-config';

/** No tokenizer in the model folder, and the one its vocabulary size names is not in the cache. */
export class WhisperTokenizerNotFoundError extends ModelIncompleteError {
  constructor(
    readonly modelDir: string,
    /** The openai/whisper-* repo whose tokenizer files are needed; undefined for a vocabulary size none has. */
    readonly repo: string | undefined,
  ) {
    super(
      repo === undefined
        ? `The Whisper model in ${modelDir} has no tokenizer.json and its n_vocab matches no openai/whisper-* tokenizer; put the tokenizer.json of the model it was converted from in its folder`
        : `The Whisper model in ${modelDir} has no tokenizer.json; it uses the tokenizer of ${repo}, which is not in the Hugging Face cache. ` +
            `Pull the model again (mlx-omni-server models pull <model>), which fetches ${repo}'s tokenizer files with it, or pull ${repo} itself`,
    );
  }
}

/**
 * Where a Whisper model's tokenizer.json is: in its own folder when it has one, else in the
 * Hugging Face cache's copy of the openai/whisper-* repo its vocabulary size names (mlx-community
 * conversions ship none). Throws WhisperTokenizerNotFoundError naming the repo to pull.
 */
export async function whisperTokenizerDir(modelDir: string, config: JsonObject, hubCache: string | undefined): Promise<string> {
  if (await fileExists(join(modelDir, 'tokenizer.json'))) {
    return modelDir;
  }
  const repo = whisperTokenizerRepo(config);
  const cached = repo === undefined || hubCache === undefined ? undefined : await cachedRepoFolder(hubCache, repo, 'tokenizer.json');
  if (cached === undefined) {
    throw new WhisperTokenizerNotFoundError(modelDir, repo);
  }
  return cached;
}
