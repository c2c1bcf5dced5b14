import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { whisperTokenizerRepo } from '@mlx-omni/model-families';
import { ModelIncompleteError } from '../io/errors';
import { companionFolder, type LoadOptions } from '../io/load-weights';
import type { JsonObject } from '../io/model-config';

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Where a Whisper model's tokenizer.json is: in its own folder when it has one, else in the cached
 * openai/whisper-* repo its vocabulary size names (mlx-community conversions ship none; model-families
 * declares that repo as the model's companion, and the worker passes its folder). Throws
 * ModelIncompleteError naming the repo to pull.
 */
export async function whisperTokenizerDir(modelDir: string, config: JsonObject, options: LoadOptions): Promise<string> {
  if (await exists(join(modelDir, 'tokenizer.json'))) {
    return modelDir;
  }
  const repo = whisperTokenizerRepo(config);
  if (repo === undefined) {
    throw new ModelIncompleteError(
      `The Whisper model in ${modelDir} has no tokenizer.json and its n_vocab matches no openai/whisper-* tokenizer; put the tokenizer.json of the model it was converted from in its folder`,
    );
  }
  return companionFolder(options, repo, 'the tokenizer', modelDir);
}
