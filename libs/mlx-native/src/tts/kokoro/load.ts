import { join } from 'node:path';
import { keepsQuantized, loadedWeightBytes, loadWeights, readModelJson, safetensorsFiles, type LoadOptions } from '../../io/load-weights';
import { ModelConfig } from '../../io/model-config';
import { parseQuantization } from '../../io/quantization';
import { readSafetensorsHeader } from '../../io/safetensors';
import { parseKokoroConfig } from './config';
import { KokoroModel } from './model';
import { isKokoroInferenceTensor, isKokoroResidentTensor, KokoroWeights, kokoroNaming } from './weights';

async function readConfig(dir: string) {
  const path = join(dir, 'config.json');
  const raw = await readModelJson(path, true);
  return { kokoro: parseKokoroConfig(raw, path), quantization: parseQuantization(new ModelConfig(raw, path)) };
}

/** Loads a Kokoro checkpoint in either naming (see KokoroNaming), dense or MLX-quantized. */
export async function loadKokoroModel(dir: string, options: LoadOptions = {}): Promise<KokoroModel> {
  const { kokoro, quantization } = await readConfig(dir);
  const files = await safetensorsFiles(dir);
  const names = (await Promise.all(files.map(readSafetensorsHeader))).flat().map((t) => t.name);
  const store = await loadWeights(files, {
    modelDir: dir,
    quantization,
    keepQuantized: keepsQuantized(options.weights),
    keep: isKokoroInferenceTensor,
  });
  return new KokoroModel(new KokoroWeights(store, kokoroNaming(names), dir), kokoro);
}

/** What a loaded Kokoro model occupies, from the headers alone (weight norms and LSTM biases fold at load). */
export async function kokoroWeightBytes(dir: string, options: LoadOptions = {}): Promise<number> {
  const { quantization } = await readConfig(dir);
  return loadedWeightBytes(await safetensorsFiles(dir), {
    keepQuantized: keepsQuantized(options.weights),
    keep: isKokoroResidentTensor,
    quantization,
  });
}
