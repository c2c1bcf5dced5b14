import { join } from 'node:path';
import { familyById } from '@mlx-omni/model-families';
import { downloadModel, type DownloadedModel, type HubDownloadOptions } from './hub-download';
import { describeModelDir, readJsonObject, statIfPresent } from './model-dir';

export interface PulledModel extends DownloadedModel {
  /** Files fetched from other repos because the model's family needs them (Whisper's tokenizer). */
  companions: DownloadedModel[];
}

/**
 * Downloads a model and, when its family takes files from another repo that the model lacks
 * (mlx-community's Whisper conversions carry no tokenizer), just those files of that repo, into
 * the same cache, where the loader looks for them.
 */
export async function pullModel(repoId: string, revision: string, options: HubDownloadOptions): Promise<PulledModel> {
  const model = await downloadModel(repoId, revision, options);
  const described = await describeModelDir(model.path, { id: repoId });
  const family = described?.family === undefined ? undefined : familyById(described.family);
  const companion = family?.companion?.(await readJsonObject(join(model.path, 'config.json')));
  if (companion === undefined) {
    return { ...model, companions: [] };
  }
  const present = await Promise.all(companion.files.map((file) => statIfPresent(join(model.path, file))));
  if (present[0] !== undefined) {
    // The model carries its own copy (a tokenizer.json converted along with it).
    return { ...model, companions: [] };
  }
  return { ...model, companions: [await downloadModel(companion.repo, 'main', { ...options, only: companion.files })] };
}
