/** The folder of a text-to-speech model that holds its voices (Kokoro: one `<name>.safetensors` style pack each). */
export const VOICE_FOLDER = 'voices';

/** The voice names among a model folder's files (paths relative to the folder, "/"-separated), sorted. */
export function voiceNames(files: Iterable<string>): string[] {
  const names: string[] = [];
  for (const path of files) {
    const match = /^voices\/([^/]+)\.safetensors$/.exec(path);
    if (match && !match[1].startsWith('.')) {
      names.push(match[1]);
    }
  }
  return names.sort();
}
