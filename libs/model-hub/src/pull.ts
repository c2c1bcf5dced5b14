import { downloadModel, type DownloadedModel, type HubDownloadOptions } from './hub-download';
import { describeModelDir } from './model-dir';

export interface PulledModel extends DownloadedModel {
  /** Files fetched from other repos because the model's family needs them (Whisper's tokenizer, F5-TTS's vocoder). */
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
  const companions: DownloadedModel[] = [];
  for (const companion of described?.companions ?? []) {
    companions.push(await downloadModel(companion.repo, 'main', { ...options, only: companion.files }));
  }
  return { ...model, companions };
}
