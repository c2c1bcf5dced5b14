import { core as mx } from '@frost-beta/mlx';
import { PacedWork } from '../../runtime/paced-work';
import { SpeechInputError, type SpeechChunk, type SpeechRequest, type SpeechSynthesizer } from '../speech-synthesizer';
import { seededSourceNoise } from './decoder';
import { chunkPhonemes } from './g2p/chunks';
import { KokoroPhonemizer, languageOfVoice } from './g2p/phonemize';
import type { KokoroModel } from './model';
import { listVoices, VoicePacks } from './voices';

/** Kokoro's padding id, framing every chunk's ids. */
const PAD_ID = 0;

/**
 * Text to speech with Kokoro, as hexgrad's KPipeline: paragraphs (split on newlines) phonemised in the
 * voice's language, cut into chunks of at most 510 phonemes, each synthesised with the voice pack's row
 * for its length and yielded as soon as it is ready.
 */
export class KokoroSynthesizer implements SpeechSynthesizer {
  private readonly packs: VoicePacks;

  constructor(
    private readonly model: KokoroModel,
    private readonly modelDir: string,
    private readonly phonemizer = new KokoroPhonemizer(),
  ) {
    this.packs = new VoicePacks(modelDir, 2 * model.config.styleDim);
  }

  get sampleRate(): number {
    return this.model.config.sampleRate;
  }

  voices(): Promise<string[]> {
    return listVoices(this.modelDir);
  }

  async *synthesize(request: SpeechRequest): AsyncGenerator<SpeechChunk> {
    const voices = await this.voices();
    if (!voices.includes(request.voice)) {
      throw new SpeechInputError(`Unknown voice "${request.voice}"; this model's voices: ${voices.join(', ')}`, 'voice');
    }
    const language = languageOfVoice(request.voice);
    if (language === undefined) {
      throw new SpeechInputError(`Voice "${request.voice}" names no language Kokoro knows (its first letter)`, 'voice');
    }
    const vocab = this.model.config.vocab;
    let key = mx.random.key(request.seed);
    let index = 0;
    for (const paragraph of request.input.split(/\n+/).map((p) => p.trim()).filter((p) => p !== '')) {
      const phonemes = await this.phonemizer.phonemize(paragraph, language);
      for (const chunk of chunkPhonemes(phonemes)) {
        const symbols = [...chunk];
        const ids = symbols.map((symbol) => vocab.get(symbol)).filter((id): id is number => id !== undefined);
        if (ids.length === 0) {
          continue;
        }
        const style = await this.packs.style(request.voice, symbols.length);
        // One key per chunk, split off a chain from the seed: chunk i's audio depends only on (seed, i).
        const [next, chunkKey] = mx.random.split(key, 2);
        key = next;
        const { audio, durations } = await this.model.forward([PAD_ID, ...ids, PAD_ID], style, {
          speed: request.speed,
          noise: seededSourceNoise(chunkKey),
          work: new PacedWork(request.turns, request.signal),
        });
        yield {
          index: index++,
          phonemes: chunk,
          frames: durations.reduce((a, b) => a + b, 0),
          samples: Float32Array.from(audio.tolist() as number[]),
        };
      }
    }
    if (index === 0) {
      throw new SpeechInputError('The input has nothing to pronounce (no phonemes after normalisation)', 'input');
    }
  }
}
