import { join } from 'node:path';
import { F5_VOCODER_COMPANIONS } from '@mlx-omni/model-families';
import { MelSpectrogram } from '../../audio/mel-spectrogram';
import { Stft } from '../../audio/stft';
import { InvalidModelConfigError } from '../../io/errors';
import { companionFolder, keepsQuantized, type LoadOptions } from '../../io/load-weights';
import { checkpointBytes, f5Checkpoint, f5Files, loadCheckpoint, type F5Checkpoint } from './checkpoint';
import { Dit } from './dit';
import { DurationPredictor } from './duration';
import { F5Model } from './model';
import { F5Weights } from './modules';
import { F5Vocabulary } from './text';
import { isVocosInferenceTensor, readVocosAudio, Vocos, VOCOS_WEIGHTS } from './vocos';

interface F5Checkpoints {
  dit: F5Checkpoint;
  duration: F5Checkpoint | undefined;
  vocos: F5Checkpoint;
  vocabulary: string;
  vocosDir: string;
}

async function checkpoints(dir: string, options: LoadOptions): Promise<F5Checkpoints> {
  const files = await f5Files(dir);
  const [vocoder] = F5_VOCODER_COMPANIONS;
  // f5-tts-mlx loads Vocos from its own repo by name; the worker passes where that repo is cached.
  const vocosDir = companionFolder(options, vocoder.repo, vocoder.provides, dir);
  return {
    dit: await f5Checkpoint(files.model, dir, files.bits),
    duration: files.duration === undefined ? undefined : await f5Checkpoint(files.duration, dir, undefined),
    vocos: await f5Checkpoint(join(vocosDir, VOCOS_WEIGHTS), vocosDir, undefined, isVocosInferenceTensor),
    vocabulary: files.vocab,
    vocosDir,
  };
}

/**
 * Loads F5-TTS as lucasnewman/f5-tts-mlx publishes it (the float or a quantized DiT, the duration model
 * when present, vocab.txt) with the Vocos vocoder of lucasnewman/vocos-mel-24khz.
 */
export async function loadF5Model(dir: string, options: LoadOptions = {}): Promise<F5Model> {
  const found = await checkpoints(dir, options);
  const keepQuantized = keepsQuantized(options.weights);
  const audio = await readVocosAudio(found.vocosDir);
  const weights = async (checkpoint: F5Checkpoint) => new F5Weights(await loadCheckpoint(checkpoint, keepQuantized), checkpoint.plan.modelDir, checkpoint.layout);
  const ditWeights = await weights(found.dit);
  const durationWeights = found.duration === undefined ? undefined : await weights(found.duration);
  const vocosWeights = await weights(found.vocos);
  const stft = new Stft(audio.nFft, audio.hop);
  const dit = new Dit(ditWeights);
  const vocos = new Vocos(vocosWeights, stft);
  if (dit.dims.mels !== audio.nMels || vocos.nMels !== audio.nMels) {
    throw new InvalidModelConfigError(join(found.vocosDir, 'config.yaml'), `Vocos takes ${audio.nMels} mel bins, the DiT gives ${dit.dims.mels} and the vocoder's embedding reads ${vocos.nMels}`);
  }
  const vocabulary = await F5Vocabulary.load(found.vocabulary);
  if (vocabulary.size + 1 > dit.dims.textRows) {
    throw new InvalidModelConfigError(found.vocabulary, `${vocabulary.size} tokens need ${vocabulary.size + 1} rows of the character embedding, which has ${dit.dims.textRows}`);
  }
  const duration = durationWeights === undefined ? undefined : new DurationPredictor(durationWeights);
  return new F5Model({
    dit,
    duration,
    vocos,
    vocabulary,
    mel: new MelSpectrogram(stft, audio.sampleRate, audio.nMels, { scale: 'htk', areaNormalised: false }),
    hop: audio.hop,
    weightBytes: [ditWeights, durationWeights, vocosWeights].reduce((n, w) => n + (w?.residentBytes ?? 0), 0),
  });
}

/** What a loaded F5-TTS model occupies (DiT, duration model, Vocos), from the headers alone. */
export async function f5WeightBytes(dir: string, options: LoadOptions = {}): Promise<number> {
  const found = await checkpoints(dir, options);
  const keepQuantized = keepsQuantized(options.weights);
  const parts = [found.dit, found.duration, found.vocos].filter((checkpoint): checkpoint is F5Checkpoint => checkpoint !== undefined);
  return (await Promise.all(parts.map((checkpoint) => checkpointBytes(checkpoint, keepQuantized)))).reduce((a, b) => a + b, 0);
}
