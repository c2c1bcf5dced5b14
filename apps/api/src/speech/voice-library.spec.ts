import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAudioFile } from '@mlx-omni/mlx-native/decode-audio';
import { VoiceExistsError, VoiceLibrary } from './voice-library';

let dir: string;
let library: VoiceLibrary;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voice-library-'));
  library = new VoiceLibrary(join(dir, 'voices'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Exact 16-bit values (and +0, which is what a decoder gives back for a zero sample).
const tone = (seconds: number) => Float32Array.from({ length: seconds * 24000 }, (_, i) => Math.round(0.25 * Math.sin(i / 10) * 32768) / 32768 + 0);

describe('VoiceLibrary', () => {
  it('stores a clip as a 16-bit WAV that decodes back to the same samples, with its transcript', async () => {
    const samples = tone(1);
    const voice = await library.register('narrator', 'Some call me nature.', samples, 24000);
    expect(voice).toMatchObject({ name: 'narrator', transcript: 'Some call me nature.', duration_seconds: 1, sample_rate: 24000 });
    const stored = await library.find('narrator');
    expect(stored?.voice).toEqual(voice);
    expect((await readFile(stored!.audioPath)).subarray(0, 4).toString()).toBe('RIFF');
    expect(await decodeAudioFile(stored!.audioPath, { sampleRate: 24000 })).toEqual(samples);
  });

  it('lists voices by name, refuses a taken name, deletes, and leaves no staging folders behind', async () => {
    await library.register('zoe', 'One.', tone(1), 24000);
    await library.register('adam', 'Two.', tone(1), 24000);
    await expect(library.register('zoe', 'Three.', tone(1), 24000)).rejects.toBeInstanceOf(VoiceExistsError);
    expect((await library.list()).map((v) => v.name)).toEqual(['adam', 'zoe']);
    expect(await library.delete('zoe')).toBe(true);
    expect(await library.delete('zoe')).toBe(false);
    expect(await library.find('zoe')).toBeUndefined();
    expect(await readdir(join(dir, 'voices'))).toEqual(['adam']);
  });

  it('never looks outside its folder for a name that is not a voice name', async () => {
    expect(await library.find('../voices')).toBeUndefined();
    expect(await library.delete('..')).toBe(false);
    expect(await library.list()).toEqual([]);
  });
});
