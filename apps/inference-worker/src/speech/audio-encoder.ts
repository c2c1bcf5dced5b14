import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { SpeechResponseFormat } from '@mlx-omni/openai-dto';

/** ffmpeg's codec and container arguments per response format (input: float32 mono PCM on stdin). */
const OUTPUT_ARGUMENTS: Readonly<Record<SpeechResponseFormat, readonly string[]>> = {
  // No Xing/LAME header: ffmpeg would rewrite it after the last frame, changing bytes already sent.
  mp3: ['-c:a', 'libmp3lame', '-b:a', '128k', '-write_xing', '0', '-f', 'mp3'],
  // Pages of 100 ms instead of 1 s, so a streamed response starts sooner.
  opus: ['-c:a', 'libopus', '-b:a', '48k', '-page_duration', '100000', '-f', 'ogg'],
  aac: ['-c:a', 'aac', '-b:a', '96k', '-f', 'adts'],
  flac: ['-c:a', 'flac', '-f', 'flac'],
  wav: ['-c:a', 'pcm_s16le', '-bitexact', '-f', 'wav'],
  pcm: ['-c:a', 'pcm_s16le', '-f', 's16le'],
};

/** ffmpeg could not be run or failed; a deployment fault, not the client's. */
export class AudioEncoderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * One audio file encoded by an ffmpeg process (the system's, run as a separate program): samples are
 * written as they are synthesised and every encoded packet is flushed to the file at once, so a reader
 * can send a progressive format while it grows. Writing waits while ffmpeg's input pipe is full.
 */
export class AudioEncoder {
  private readonly stderr: Buffer[] = [];
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly binary: string,
  ) {
    child.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk));
    // A process that exits early breaks the pipe; the exit status below says why.
    child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve, reject) => {
      child.on('error', (error: NodeJS.ErrnoException) => {
        reject(
          new AudioEncoderError(
            error.code === 'ENOENT'
              ? `${binary} is not installed; speech needs it to encode audio (Debian: apt-get install ffmpeg; macOS: brew install ffmpeg)`
              : `Could not run ${binary}: ${error.message}`,
          ),
        );
      });
      child.on('close', (code, signal) => {
        if (code === 0) {
          resolve();
        } else {
          reject(new AudioEncoderError(`${binary} failed (${signal ?? `exit ${code}`}): ${Buffer.concat(this.stderr).toString('utf8').trim()}`));
        }
      });
    });
    // Observed by finish() or abort(); without this, an early failure would be an unhandled rejection.
    this.exited.catch(() => undefined);
  }

  static start(format: SpeechResponseFormat, sampleRate: number, path: string, binary = 'ffmpeg'): AudioEncoder {
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'f32le',
      '-ar',
      String(sampleRate),
      '-ac',
      '1',
      '-i',
      'pipe:0',
      ...OUTPUT_ARGUMENTS[format],
      '-flush_packets',
      '1',
      '-y',
      path,
    ];
    return new AudioEncoder(spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] }), binary);
  }

  async write(samples: Float32Array): Promise<void> {
    const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    if (!this.child.stdin.write(bytes)) {
      await Promise.race([new Promise((resolve) => this.child.stdin.once('drain', resolve)), this.exited]);
    }
  }

  /** Ends the input and waits for ffmpeg to finish the file. */
  async finish(): Promise<void> {
    this.child.stdin.end();
    await this.exited;
  }

  abort(): void {
    this.child.kill('SIGKILL');
  }
}
