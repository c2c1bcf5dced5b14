import { join } from 'node:path';
import { InvalidModelConfigError, ModelLoadError } from '../io/errors';
import { readJsonFile, readModelJson } from '../io/load-weights';
import { isJsonObject, type JsonObject } from '../io/model-config';

/** How token states become one vector, as sentence-transformers' Pooling module names its modes. */
export type PoolingMode = 'cls' | 'mean' | 'max' | 'lasttoken' | 'mean_sqrt_len_tokens';

/** The sentence-transformers packaging of a model folder: what runs after the transformer. */
export interface SentenceTransformerSetup {
  /** From 1_Pooling/config.json; undefined when the folder has no Pooling module (the caller picks the default). */
  pooling: PoolingMode | undefined;
  /** A Normalize module is listed: vectors are L2-normalized. */
  normalize: boolean;
  /** sentence_bert_config.json's max_seq_length: the longest input the model was trained for. */
  maxSeqLength: number | undefined;
  /** The LogitScore module of a generative reranker (sentence-transformers ≥ 5.4): the tokens whose logits score. */
  logitScore: { trueTokenId: number; falseTokenId: number | undefined } | undefined;
  /** config_sentence_transformers.json's prompts, and the one used when the request names none. */
  prompts: Record<string, string>;
  defaultPromptName: string | undefined;
}

interface ModuleEntry {
  type: string;
  path: string;
}

/** Module classes, by the last part of the dotted name (v2–v4 `sentence_transformers.models.Pooling`, v5 `…modules.pooling.Pooling`). */
const RUN_AS_PART_OF_THE_MODEL = new Set(['Transformer', 'Pooling', 'Normalize', 'LogitScore']);

const POOLING_FLAGS: ReadonlyArray<[string, PoolingMode]> = [
  ['pooling_mode_cls_token', 'cls'],
  ['pooling_mode_mean_tokens', 'mean'],
  ['pooling_mode_max_tokens', 'max'],
  ['pooling_mode_mean_sqrt_len_tokens', 'mean_sqrt_len_tokens'],
  ['pooling_mode_lasttoken', 'lasttoken'],
];
const UNSUPPORTED_FLAGS = ['pooling_mode_weightedmean_tokens'];

function modulesOf(raw: unknown, source: string): ModuleEntry[] {
  if (!Array.isArray(raw) || !raw.every((entry) => isJsonObject(entry) && typeof entry['type'] === 'string')) {
    throw new InvalidModelConfigError(source, 'expected a list of modules, each with a "type"');
  }
  return (raw as JsonObject[]).map((entry) => ({ type: String(entry['type']), path: typeof entry['path'] === 'string' ? entry['path'] : '' }));
}

function poolingMode(config: JsonObject, source: string): PoolingMode {
  if (config['include_prompt'] === false) {
    throw new ModelLoadError(`${source}: pooling that leaves out the prompt (include_prompt: false, INSTRUCTOR-style) is not supported`);
  }
  const named = config['pooling_mode'];
  const modes =
    typeof named === 'string'
      ? [named]
      : [...POOLING_FLAGS.filter(([flag]) => config[flag] === true).map(([, mode]) => mode), ...UNSUPPORTED_FLAGS.filter((flag) => config[flag] === true)];
  const supported = POOLING_FLAGS.map(([, mode]) => mode as string);
  if (modes.length !== 1 || !supported.includes(modes[0])) {
    throw new ModelLoadError(
      `${source}: pooling ${modes.length === 0 ? 'mode missing' : `"${modes.join(' + ')}"`} is not supported; supported: one of ${supported.join(', ')}`,
    );
  }
  return modes[0] as PoolingMode;
}

/**
 * Reads modules.json and the configs it points at. Modules that would change the vector and that
 * the engine does not run (Dense projections, word-weights, …) stop the load with their name rather
 * than give vectors the model's authors would not recognise.
 */
export async function readSentenceTransformerSetup(modelDir: string): Promise<SentenceTransformerSetup> {
  const modulesPath = join(modelDir, 'modules.json');
  const modules = await readModulesJson(modulesPath);
  const setup: SentenceTransformerSetup = { pooling: undefined, normalize: false, maxSeqLength: undefined, logitScore: undefined, prompts: {}, defaultPromptName: undefined };
  for (const module of modules) {
    const className = module.type.slice(module.type.lastIndexOf('.') + 1);
    if (!RUN_AS_PART_OF_THE_MODEL.has(className)) {
      throw new ModelLoadError(`${modulesPath} lists a ${className} module (${module.path || 'root'}), which this server does not run`);
    }
    const configPath = join(modelDir, module.path, 'config.json');
    if (className === 'Pooling') {
      setup.pooling = poolingMode(await readModelJson(configPath, true), configPath);
    } else if (className === 'Normalize') {
      setup.normalize = true;
    } else if (className === 'LogitScore') {
      const config = await readModelJson(configPath, true);
      const trueTokenId = config['true_token_id'];
      const falseTokenId = config['false_token_id'] ?? undefined;
      if (!Number.isInteger(trueTokenId) || (falseTokenId !== undefined && !Number.isInteger(falseTokenId))) {
        throw new InvalidModelConfigError(configPath, '"true_token_id" (and "false_token_id" when given) must be token ids');
      }
      setup.logitScore = { trueTokenId: trueTokenId as number, falseTokenId: falseTokenId as number | undefined };
    }
  }
  const bertConfigPath = join(modelDir, 'sentence_bert_config.json');
  const maxSeqLength = (await readModelJson(bertConfigPath, false))?.['max_seq_length'];
  if (maxSeqLength !== undefined && maxSeqLength !== null) {
    if (!Number.isInteger(maxSeqLength) || (maxSeqLength as number) <= 0) {
      throw new InvalidModelConfigError(bertConfigPath, '"max_seq_length" must be a positive integer');
    }
    setup.maxSeqLength = maxSeqLength as number;
  }
  const stConfig = await readModelJson(join(modelDir, 'config_sentence_transformers.json'), false);
  const prompts = stConfig?.['prompts'];
  if (isJsonObject(prompts)) {
    setup.prompts = Object.fromEntries(Object.entries(prompts).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  }
  const defaultPromptName = stConfig?.['default_prompt_name'];
  setup.defaultPromptName = typeof defaultPromptName === 'string' ? defaultPromptName : undefined;
  return setup;
}

/** modules.json, a list; no file: no modules. */
async function readModulesJson(path: string): Promise<ModuleEntry[]> {
  const parsed = await readJsonFile(path);
  return parsed === undefined ? [] : modulesOf(parsed, path);
}
