import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Real speech for tests: espeak-ng reads `text` into a WAV file (22.05 kHz mono), optionally
 * converted by ffmpeg to another container by the output's extension (mp3, flac, ogg, m4a, webm...).
 */
export async function speak(text: string, path: string, { voice = 'en', wordsPerMinute = 160 }: { voice?: string; wordsPerMinute?: number } = {}): Promise<string> {
  if (path.endsWith('.wav')) {
    await run('espeak-ng', ['-v', voice, '-s', String(wordsPerMinute), '-w', path, text]);
    return path;
  }
  const wav = `${path}.wav`;
  await run('espeak-ng', ['-v', voice, '-s', String(wordsPerMinute), '-w', wav, text]);
  await run('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-i', wav, path]);
  return path;
}
