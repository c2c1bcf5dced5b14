import { spawn } from 'node:child_process';

/** espeak-ng could not be run (not installed, or it failed); the message says what to install. */
export class PhonemizerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * espeak-ng (GPL-3) run as a separate program, never linked into this MIT process: text in on stdin,
 * IPA out on stdout. `--ipa` gives the same phonemes as the espeak-ng WASM build kokoro-js uses
 * (npm `phonemizer`), one line per clause.
 */
export class EspeakNg {
  constructor(private readonly binary = 'espeak-ng') {}

  /**
   * The IPA of each text, each as espeak-ng's clause lines joined by spaces (as kokoro-js joins them).
   * All texts go through one process, one per line with every line its own clause (`-l`); when espeak-ng
   * splits a line into several clauses (a very long one) the lines no longer pair up, and each text is
   * then phonemised by a process of its own.
   */
  async phonemize(texts: readonly string[], voice: string): Promise<string[]> {
    const pending = texts.map((text, i) => ({ text: text.replace(/\s+/g, ' ').trim(), i })).filter(({ text }) => text !== '');
    const out = texts.map(() => '');
    if (pending.length === 0) {
      return out;
    }
    const lines = await this.run(pending.map(({ text }) => text).join('\n'), voice);
    if (lines.length === pending.length) {
      pending.forEach(({ i }, j) => (out[i] = lines[j]));
      return out;
    }
    const each = await Promise.all(pending.map(async ({ text }) => (await this.run(text, voice)).join(' ')));
    pending.forEach(({ i }, j) => (out[i] = each[j]));
    return out;
  }

  private run(input: string, voice: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      // -q: no audio; -b 1: UTF-8 input; -l: every input line shorter than this ends a clause.
      const child = spawn(this.binary, ['-q', '--ipa', '-b', '1', '-l', '1000000', '-v', voice], { stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', (error: NodeJS.ErrnoException) => {
        reject(
          new PhonemizerUnavailableError(
            error.code === 'ENOENT'
              ? `${this.binary} is not installed; Kokoro needs it to turn text into phonemes (Debian: apt-get install espeak-ng; macOS: brew install espeak-ng)`
              : `Could not run ${this.binary}: ${error.message}`,
          ),
        );
      });
      child.on('close', (code) => {
        if (code !== 0) {
          reject(new PhonemizerUnavailableError(`${this.binary} -v ${voice} failed (exit ${code}): ${Buffer.concat(stderr).toString('utf8').trim()}`));
          return;
        }
        resolve(
          Buffer.concat(stdout)
            .toString('utf8')
            .split('\n')
            .map((line) => line.trim())
            .filter((line) => line !== ''),
        );
      });
      // A process that dies before reading its input breaks the pipe; 'close' reports why.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    });
  }
}
