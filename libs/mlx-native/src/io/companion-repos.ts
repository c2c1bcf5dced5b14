import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoFolderName } from '@mlx-omni/model-hub';

export const fileExists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The snapshot of `repo` in the Hugging Face cache that holds `file`: the one refs/main names, else any.
 * Where a model finds the files it takes from another repo (a Whisper conversion's tokenizer, F5-TTS's
 * Vocos vocoder), which pulling the model fetches beside it.
 */
export async function cachedRepoFolder(hubCache: string, repo: string, file: string): Promise<string | undefined> {
  const repoDir = join(hubCache, repoFolderName(repo));
  const main = (await readFile(join(repoDir, 'refs', 'main'), 'utf8').catch(() => '')).trim();
  const snapshots = await readdir(join(repoDir, 'snapshots')).catch(() => [] as string[]);
  const ordered = [...(main === '' ? [] : [main]), ...snapshots.filter((name) => name !== main && !name.startsWith('.'))];
  for (const revision of ordered) {
    const dir = join(repoDir, 'snapshots', revision);
    if (await fileExists(join(dir, file))) {
      return dir;
    }
  }
  return undefined;
}
