import { downloadModel, type DownloadedModel, type HubDownloadOptions } from './hub-download';
import { describeModelDir } from './model-dir';

export interface PulledModel extends DownloadedModel {
  /** Files fetched from other repos because the model's family needs them (Whisper's tokenizer, DiffusionKit's text encoders, F5-TTS's vocoder). */
  companions: DownloadedModel[];
}

/**
 * Downloads a model and, when its family takes files from other repos (model-families' `companions`:
 * mlx-community's Whisper conversions carry no tokenizer, DiffusionKit's FLUX no text encoders), just
 * those files of each repo, into the same cache, where the worker finds them for the loader.
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
