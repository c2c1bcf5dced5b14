import { keepsQuantized, loadedWeightBytes, loadWeights, readModelJson, type LoadOptions } from '../../io/load-weights';
import { ModelConfig } from '../../io/model-config';
import type { WeightStore } from '../../io/weight-store';
import { PromptTokenizer } from '../../text/prompt-tokenizer';
import { ClipTextEncoder } from './clip';
import {
  clipConfigFromJson,
  clipConfigFromShapes,
  defaultSchedule,
  scheduleFromJson,
  t5ConfigFromJson,
  t5ConfigFromShapes,
  transformerConfigFromJson,
  transformerConfigFromShapes,
  vaeConfigFromJson,
  vaeConfigFromShapes,
  type FlowScheduleConfig,
  type FluxTransformerConfig,
} from './config';
import { readFluxCheckpoint, type ComponentCheckpoint, type FluxCheckpoint } from './layout';
import { FluxPipeline, type TextEncoderResidency } from './pipeline';
import { ShapeIndex } from './shape-index';
import { T5Encoder } from './t5';
import { FluxTransformer } from './transformer';
import { VaeDecoder } from './vae';

/** FLUX options beyond the common ones: the memory the model may take, to decide whether T5 stays loaded. */
export interface FluxLoadOptions extends LoadOptions {
  memoryBudgetBytes?: number;
}

async function configOf<T>(part: ComponentCheckpoint, fromJson: (c: ModelConfig) => T, fromShapes: (s: ShapeIndex) => T): Promise<T> {
  if (part.configPath !== undefined) {
    return fromJson(new ModelConfig(await readModelJson(part.configPath, true), part.configPath));
  }
  return fromShapes(await ShapeIndex.read(part.files, part.rename, part.bits));
}

function transformerConfig(checkpoint: FluxCheckpoint): Promise<FluxTransformerConfig> {
  // BFL's final modulation is (shift, scale), diffusers' and mflux's (scale, shift).
  const order = checkpoint.layout === 'diffusionkit' ? 'shift-scale' : 'scale-shift';
  return configOf(checkpoint.transformer, transformerConfigFromJson, (s) => transformerConfigFromShapes(s, order));
}

function plan(dir: string, part: ComponentCheckpoint, options: LoadOptions) {
  return { modelDir: dir, quantization: part.quantization, keepQuantized: keepsQuantized(options.weights), keep: () => true, rename: part.rename };
}

async function componentBytes(checkpoint: FluxCheckpoint, options: LoadOptions): Promise<Record<'transformer' | 'vae' | 'clip' | 't5', number>> {
  const bytes = async (part: ComponentCheckpoint) => loadedWeightBytes(part.files, plan(checkpoint.dir, part, options));
  const [transformer, vae, clip, t5] = await Promise.all([checkpoint.transformer, checkpoint.vae, checkpoint.clip, checkpoint.t5].map(bytes));
  return { transformer, vae, clip, t5 };
}

/**
 * T5-XXL is 9.5 GB of the bf16 model's ~34 GB and is needed once per prompt: when the whole model does
 * not fit the memory budget but fits without T5, T5 is read from disk for each prompt and let go after
 * (costing that read, seconds from an SSD, per request) instead of refusing the model.
 */
function residency(bytes: Record<'transformer' | 'vae' | 'clip' | 't5', number>, options: FluxLoadOptions): TextEncoderResidency {
  const total = bytes.transformer + bytes.vae + bytes.clip + bytes.t5;
  const budget = options.memoryBudgetBytes;
  return budget !== undefined && total > budget && total - bytes.t5 <= budget ? 'per-prompt' : 'resident';
}

/** Bytes the loaded pipeline occupies (float32 on the CPU backend), from the safetensors headers; BFL copies beside diffusers folders are not read. */
export async function fluxWeightBytes(dir: string, options: FluxLoadOptions = {}): Promise<number> {
  const bytes = await componentBytes(await readFluxCheckpoint(dir, options), options);
  return bytes.transformer + bytes.vae + bytes.clip + (residency(bytes, options) === 'resident' ? bytes.t5 : 0);
}

async function schedule(checkpoint: FluxCheckpoint, guidanceDistilled: boolean): Promise<FlowScheduleConfig> {
  const path = checkpoint.schedulerConfigPath;
  return path === undefined ? defaultSchedule(guidanceDistilled) : scheduleFromJson(new ModelConfig(await readModelJson(path, true), path));
}

/** Loads FLUX.1 (schnell or dev) from any of its three layouts: transformer, VAE decoder, CLIP-L, T5 and both tokenizers. */
export async function loadFluxPipeline(dir: string, options: FluxLoadOptions = {}): Promise<FluxPipeline> {
  const checkpoint = await readFluxCheckpoint(dir, options);
  const bytes = await componentBytes(checkpoint, options);
  const t5Residency = residency(bytes, options);
  const load = (part: ComponentCheckpoint): Promise<WeightStore> => loadWeights(part.files, plan(dir, part, options));

  const transformerConfigValue = await transformerConfig(checkpoint);
  const transformerWeights = await load(checkpoint.transformer);
  const transformer = new FluxTransformer(transformerWeights, transformerConfigValue);
  const vaeConfig = await configOf(checkpoint.vae, vaeConfigFromJson, (s) => vaeConfigFromShapes(s, checkpoint.vae.convLayout));
  const vae = new VaeDecoder(await load(checkpoint.vae), vaeConfig, checkpoint.vae.convLayout);
  const clipConfig = await configOf(checkpoint.clip, clipConfigFromJson, clipConfigFromShapes);
  const clip = new ClipTextEncoder(await load(checkpoint.clip), clipConfig);
  const t5Config = await configOf(checkpoint.t5, t5ConfigFromJson, t5ConfigFromShapes);
  const readT5 = async () => new T5Encoder(await load(checkpoint.t5), t5Config);
  const residentT5 = t5Residency === 'resident' ? await readT5() : undefined;

  const variant = transformerConfigValue.guidanceEmbeds ? 'dev' : 'schnell';
  const [clipTokenizer, t5Tokenizer] = await Promise.all([
    PromptTokenizer.clip(checkpoint.clipTokenizerDir, clipConfig.maxPositions),
    PromptTokenizer.t5(checkpoint.t5TokenizerDir, variant === 'dev' ? 512 : 256),
  ]);
  return new FluxPipeline({
    variant,
    transformer,
    vae,
    clip,
    t5: residentT5 ? async () => residentT5 : readT5,
    t5Residency,
    clipTokenizer,
    t5Tokenizer,
    schedule: await schedule(checkpoint, transformerConfigValue.guidanceEmbeds),
    weightBytes: bytes.transformer + bytes.vae + bytes.clip + (residentT5 ? bytes.t5 : 0),
  });
}
