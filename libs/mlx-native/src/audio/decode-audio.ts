import { spawn } from 'node:child_process';
import { SAMPLE_RATE } from './constants';

/** The file could not be decoded as audio (not a media file, no audio stream, damaged). */
export class AudioDecodeError extends Error {
  constructor(readonly detail: string) {
    super(`The audio file could not be decoded: ${detail}`);
    this.name = 'AudioDecodeError';
  }
}

/** ffmpeg is not installed: a deployment fault, not the caller's. */
export class AudioDecoderMissingError extends Error {
  constructor() {
    super('ffmpeg is not installed; run scripts/ensure-system-deps.sh (Debian: apt-get install ffmpeg, macOS: brew install ffmpeg)');
    this.name = 'AudioDecoderMissingError';
  }
}

/** The last lines of ffmpeg's complaint, without its banner; enough to say why a file was refused. */
function ffmpegReason(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines.slice(-2).join('; ').slice(0, 300) || 'ffmpeg failed without saying why';
}

/**
 * Decodes any container ffmpeg reads (wav, mp3, flac, ogg/opus, m4a, webm, mp4, ...) to mono
 * float samples in [-1, 1) at `sampleRate`, the way mlx_whisper's load_audio does: ffmpeg
 * down-mixes and resamples to 16-bit PCM, which is scaled by 1/32768.
 */
export function decodeAudioFile(path: string, { sampleRate = SAMPLE_RATE, signal }: { sampleRate?: number; signal?: AbortSignal } = {}): Promise<Float32Array> {
  return new Promise((resolve, reject) => {
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-threads', '0', '-i', path, '-f', 's16le', '-ac', '1', '-acodec', 'pcm_s16le', '-ar', String(sampleRate), '-'];
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      // Only the end matters, and a damaged file can make ffmpeg write a lot.
      stderr = (stderr + chunk.toString('utf8')).slice(-4096);
    });
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new AudioDecoderMissingError() : error));
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new AudioDecodeError(ffmpegReason(stderr)));
        return;
      }
      const pcm = Buffer.concat(chunks);
      const count = Math.floor(pcm.length / 2);
      if (count === 0) {
        reject(new AudioDecodeError('it holds no audio samples'));
        return;
      }
      const samples = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        samples[i] = pcm.readInt16LE(2 * i) / 32768;
      }
      resolve(samples);
    });
  });
}
