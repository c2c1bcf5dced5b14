import { core as mx } from '@frost-beta/mlx';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VOICE_FOLDER, voiceNames } from '@mlx-omni/model-families';
import { InvalidModelConfigError } from '../../io/errors';
import { readSafetensorsHeader } from '../../io/safetensors';

/** The voices of a model folder (`voices/<name>.safetensors`); none when it has no voices folder. */
export async function listVoices(modelDir: string): Promise<string[]> {
  const entries = await readdir(join(modelDir, VOICE_FOLDER)).catch(() => [] as string[]);
  return voiceNames(entries.map((name) => `${VOICE_FOLDER}/${name}`));
}

/**
 * Kokoro voice packs: one tensor `voice` [rows, 1, 2·style_dim] per voice, a style vector per phoneme
 * count (row n − 1 for a chunk of n phonemes, as hexgrad's pipeline reads it). Read on first use and kept.
 */
export class VoicePacks {
  private readonly packs = new Map<string, Promise<mx.array>>();

  constructor(
    private readonly modelDir: string,
    private readonly width: number,
  ) {}

  /** The style vector [1, width] for a chunk of `phonemes` phonemes. */
  async style(voice: string, phonemes: number): Promise<mx.array> {
    let pack = this.packs.get(voice);
    if (pack === undefined) {
      pack = this.read(voice);
      this.packs.set(voice, pack);
      pack.catch(() => this.packs.delete(voice));
    }
    const table = await pack;
    const row = Math.min(Math.max(phonemes - 1, 0), table.shape[0] - 1);
    return table.index(mx.Slice(row, row + 1));
  }

  private async read(voice: string): Promise<mx.array> {
    const file = join(this.modelDir, VOICE_FOLDER, `${voice}.safetensors`);
    // Checked before the binding sees it: a damaged file would crash the process in mx.load.
    const tensors = await readSafetensorsHeader(file);
    const entry = tensors.find((t) => t.name === 'voice');
    if (entry === undefined || entry.shape.length !== 3 || entry.shape[1] !== 1 || entry.shape[2] !== this.width) {
      throw new InvalidModelConfigError(file, `expected one tensor "voice" of shape [rows, 1, ${this.width}]`);
    }
    const voicePack = (mx.load(file) as unknown as Record<string, mx.array>)['voice'].astype(mx.float32).reshape(entry.shape[0], this.width);
    mx.eval(voicePack);
    return voicePack;
  }
}
