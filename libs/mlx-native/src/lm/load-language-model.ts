import { join } from 'node:path';
import { InvalidModelConfigError } from '../io/errors';
import { keepsQuantized, loadWeights, readModelJson, safetensorsFiles, type LoadOptions } from '../io/load-weights';
import { ModelConfig, type JsonObject } from '../io/model-config';
import { parseQuantization, type QuantizationConfig } from '../io/quantization';
import { findArchitecture } from './architectures/registry';
import type { LanguageModel } from './language-model';

export interface LoadedLanguageModel {
  model: LanguageModel;
  /** config.json as parsed. */
  config: JsonObject;
  /** generation_config.json, when the checkpoint has one. */
  generationConfig: JsonObject | undefined;
  /** End-of-sequence ids from config.json and generation_config.json together (either may give a list). */
  eosTokenIds: number[];
  modelDir: string;
  quantization: QuantizationConfig | undefined;
  /** Whether quantized modules were kept quantized or dequantized at load. */
  quantizedWeights: 'kept' | 'dequantized' | 'none';
  /** Bytes the loaded weights occupy, as converted for this device. */
  weightBytes: number;
}

/** Loads a model directory in the Hugging Face / mlx-community layout. */
export async function loadLanguageModel(modelDir: string, options: LoadOptions = {}): Promise<LoadedLanguageModel> {
  const configPath = join(modelDir, 'config.json');
  const rawConfig = await readModelJson(configPath, true);
  const config = new ModelConfig(rawConfig as JsonObject, configPath);
  const architecture = findArchitecture(config.string('model_type'));
  const generationPath = join(modelDir, 'generation_config.json');
  const generationConfig = await readModelJson(generationPath, false);
  const quantization = parseQuantization(config);

  const keepQuantized = keepsQuantized(options.weights);
  const files = await safetensorsFiles(modelDir);
  const store = await loadWeights(files, {
    modelDir,
    quantization,
    keepQuantized,
    keep: (name) => architecture.usesTensor?.(name, config) ?? true,
  });
  const model = architecture.build(config, store);

  const eosTokenIds = [
    ...tokenIds(rawConfig['eos_token_id'], configPath),
    ...tokenIds(generationConfig?.['eos_token_id'], generationPath),
  ];
  return {
    model,
    config: rawConfig,
    generationConfig,
    eosTokenIds: [...new Set(eosTokenIds)],
    modelDir,
    quantization,
    quantizedWeights: quantization ? (keepQuantized ? 'kept' : 'dequantized') : 'none',
    weightBytes: store.residentBytes(),
  };
}

function tokenIds(value: unknown, source: string): number[] {
  if (value === undefined || value === null) {
    return [];
  }
  const ids = Array.isArray(value) ? value : [value];
  if (!ids.every((id) => Number.isInteger(id) && id >= 0)) {
    throw new InvalidModelConfigError(source, `"eos_token_id" must be a token id or a list of them, got ${JSON.stringify(value)}`);
  }
  return ids as number[];
}

