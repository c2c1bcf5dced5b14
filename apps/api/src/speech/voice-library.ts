import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A reference voice registered for the families that clone one (F5-TTS), as `voice.json` records it. */
export interface RegisteredVoice {
  name: string;
  /** What the clip says, word for word: the model is conditioned on it. */
  transcript: string;
  duration_seconds: number;
  sample_rate: number;
  /** Unix seconds. */
  created_at: number;
}

/** A registered voice and its clip (16-bit mono WAV) on disk. */
export interface StoredVoice {
  voice: RegisteredVoice;
  audioPath: string;
}

export class VoiceExistsError extends Error {
  constructor(readonly voiceName: string) {
    super(`A voice named "${voiceName}" is already registered; delete it first (DELETE /v1/audio/voices/${voiceName})`);
    this.name = new.target.name;
  }
}

/** Letters, digits and `_ . -`, starting with a letter or digit: the voice's folder name and its id in requests. */
export const VOICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const META = 'voice.json';
const AUDIO = 'reference.wav';

/** 16-bit PCM WAV of mono samples in [-1, 1]. */
export function wavFile(samples: Float32Array, sampleRate: number): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((sample, i) => data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(sample * 32768))), 2 * i));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/**
 * The reference voices of this server, one folder each under `<state dir>/voices/<name>/` (the clip as a
 * WAV and voice.json). API processes write and read them; workers read the clip by the path a speech job
 * carries. A voice appears and disappears by rename, so no reader sees half of one.
 */
export class VoiceLibrary {
  constructor(private readonly dir: string) {}

  async list(): Promise<RegisteredVoice[]> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((name) => VOICE_NAME.test(name)).sort();
    const found = await Promise.all(names.map((name) => this.find(name)));
    return found.flatMap((stored) => (stored === undefined ? [] : [stored.voice]));
  }

  async find(name: string): Promise<StoredVoice | undefined> {
    if (!VOICE_NAME.test(name)) {
      return undefined;
    }
    const folder = join(this.dir, name);
    const text = await readFile(join(folder, META), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : { voice: JSON.parse(text) as RegisteredVoice, audioPath: join(folder, AUDIO) };
  }

  /** Stores the clip (samples at `sampleRate`) and its transcript under `name`; VoiceExistsError when the name is taken. */
  async register(name: string, transcript: string, samples: Float32Array, sampleRate: number): Promise<RegisteredVoice> {
    const voice: RegisteredVoice = { name, transcript, duration_seconds: samples.length / sampleRate, sample_rate: sampleRate, created_at: Math.floor(Date.now() / 1000) };
    await mkdir(this.dir, { recursive: true });
    const staging = join(this.dir, `.incoming-${randomBytes(6).toString('hex')}`);
    await mkdir(staging);
    try {
      await writeFile(join(staging, AUDIO), wavFile(samples, sampleRate));
      await writeFile(join(staging, META), JSON.stringify(voice, null, 2));
      await rename(staging, join(this.dir, name));
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      if (['EEXIST', 'ENOTEMPTY'].includes((error as NodeJS.ErrnoException).code ?? '')) {
        throw new VoiceExistsError(name);
      }
      throw error;
    }
    return voice;
  }

  /** Removes a voice; false when there was none of that name. */
  async delete(name: string): Promise<boolean> {
    if (!VOICE_NAME.test(name)) {
      return false;
    }
    const leaving = join(this.dir, `.deleting-${randomBytes(6).toString('hex')}`);
    try {
      await rename(join(this.dir, name), leaving);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return false;
      }
      throw error;
    }
    await rm(leaving, { recursive: true, force: true });
    return true;
  }
}
