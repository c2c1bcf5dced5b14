import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { ModelFileMissingError } from '../io/errors';
import { arrayFromHost } from '../io/host-arrays';
import { keepsQuantized, loadedWeightBytes, loadWeights, readModelJson, type LoadOptions } from '../io/load-weights';
import { ModelConfig } from '../io/model-config';
import { parseQuantization } from '../io/quantization';
import { WindowDecoder } from './decoding';
import { readWhisperDimensions, sinusoids, WhisperModel } from './model';
import { whisperTokenizerDir } from './tokenizer-source';
import { WhisperTokenizer } from './tokenizer';
import type { LoadedWhisper } from './transcribe';

/** The weight file names mlx-community's Whisper repos use, newest layout first. */
const WEIGHT_FILES = ['model.safetensors', 'weights.safetensors', 'weights.npz'];

async function weightFile(dir: string): Promise<string> {
  const entries = await readdir(dir).catch(() => {
    throw new ModelFileMissingError(dir, 'the model directory does not exist');
  });
  const name = WEIGHT_FILES.find((file) => entries.includes(file));
  if (name === undefined) {
    throw new ModelFileMissingError(join(dir, WEIGHT_FILES[0]), `no ${WEIGHT_FILES.join(', ')} in the model directory`);
  }
  return join(dir, name);
}

async function readConfig(dir: string): Promise<ModelConfig> {
  const path = join(dir, 'config.json');
  return new ModelConfig(await readModelJson(path, true), path);
}

/** Loads an mlx-community Whisper folder (float or quantized, safetensors or .npz) and its tokenizer. */
export async function loadWhisper(dir: string, options: LoadOptions = {}): Promise<LoadedWhisper & { weightBytes: number }> {
  const config = await readConfig(dir);
  const dims = readWhisperDimensions(config);
  const tokenizer = await WhisperTokenizer.load(await whisperTokenizerDir(dir, config.raw, options), dims.nVocab);
  const store = await loadWeights([await weightFile(dir)], {
    modelDir: dir,
    quantization: parseQuantization(config),
    keepQuantized: keepsQuantized(options.weights),
    keep: () => true,
  });
  const positions = arrayFromHost(sinusoids(dims.nAudioCtx, dims.nAudioState), [dims.nAudioCtx, dims.nAudioState]);
  const model = WhisperModel.build(dims, store, positions);
  return { model, tokenizer, decoder: new WindowDecoder(model, tokenizer), weightBytes: store.residentBytes() };
}

/** What `loadWhisper` will occupy, from the weight file's header. */
export async function whisperWeightBytes(dir: string, options: LoadOptions = {}): Promise<number> {
  const config = await readConfig(dir);
  return loadedWeightBytes([await weightFile(dir)], {
    keepQuantized: keepsQuantized(options.weights),
    keep: () => true,
    quantization: parseQuantization(config),
  });
}
