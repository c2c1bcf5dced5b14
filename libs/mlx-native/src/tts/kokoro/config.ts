import { ModelConfig } from '../../io/model-config';

/** The ALBERT (PL-BERT) section; the fields Kokoro's config omits take AlbertConfig's defaults, as upstream. */
export interface PlBertConfig {
  hiddenSize: number;
  heads: number;
  intermediateSize: number;
  maxPositions: number;
  layers: number;
  embeddingSize: number;
  /** ALBERT shares one layer's weights across `layers / hiddenGroups` consecutive layers. */
  hiddenGroups: number;
  innerGroupLayers: number;
  typeVocabSize: number;
  layerNormEps: number;
  hiddenAct: string;
}

export interface IstftNetConfig {
  upsampleRates: number[];
  upsampleKernelSizes: number[];
  upsampleInitialChannel: number;
  resblockKernelSizes: number[];
  resblockDilationSizes: number[][];
  fftSize: number;
  hop: number;
}

/** Kokoro-82M's config.json (hexgrad's layout, which has no model_type). */
export interface KokoroConfig {
  vocab: ReadonlyMap<string, number>;
  tokens: number;
  hiddenDim: number;
  /** Width of each half of a voice's style vector: the decoder's half, then the prosody half. */
  styleDim: number;
  layers: number;
  maxDuration: number;
  textEncoderKernelSize: number;
  sampleRate: number;
  plbert: PlBertConfig;
  istftnet: IstftNetConfig;
}

function nestedIntLists(section: ModelConfig, key: string): number[][] {
  const value = section.raw[key];
  if (!Array.isArray(value) || !value.every((row) => Array.isArray(row) && row.every((d) => Number.isInteger(d) && d > 0))) {
    throw section.invalid(key, 'a list of lists of positive integers');
  }
  return value as number[][];
}

export function parseKokoroConfig(raw: Record<string, unknown>, source: string): KokoroConfig {
  const config = new ModelConfig(raw, source);
  const vocabSection = config.object('vocab');
  if (vocabSection === undefined) {
    throw config.invalid('vocab', 'an object mapping phoneme characters to token ids');
  }
  const vocab = new Map<string, number>();
  for (const symbol of Object.keys(vocabSection.raw)) {
    vocab.set(symbol, vocabSection.int(symbol));
  }
  const plbertSection = config.object('plbert');
  const istftSection = config.object('istftnet');
  if (plbertSection === undefined) {
    throw config.invalid('plbert', 'an object (the PL-BERT settings)');
  }
  if (istftSection === undefined) {
    throw config.invalid('istftnet', 'an object (the iSTFTNet decoder settings)');
  }
  const tokens = config.int('n_token');
  const maxToken = Math.max(...vocab.values());
  if (maxToken >= tokens) {
    throw config.invalid('vocab', `token ids below n_token (${tokens}); one is ${maxToken}`);
  }
  const upsampleRates = istftSection.intList('upsample_rates', []);
  const upsampleKernelSizes = istftSection.intList('upsample_kernel_sizes', []);
  if (upsampleRates.length === 0 || upsampleRates.length !== upsampleKernelSizes.length) {
    throw istftSection.invalid('upsample_kernel_sizes', `one kernel size per upsample rate (${upsampleRates.length})`);
  }
  const resblockKernelSizes = istftSection.intList('resblock_kernel_sizes', []);
  const resblockDilationSizes = nestedIntLists(istftSection, 'resblock_dilation_sizes');
  if (resblockKernelSizes.length === 0 || resblockKernelSizes.length !== resblockDilationSizes.length) {
    throw istftSection.invalid('resblock_dilation_sizes', `one list of dilations per resblock kernel size (${resblockKernelSizes.length})`);
  }
  const layers = plbertSection.int('num_hidden_layers');
  const hiddenGroups = plbertSection.int('num_hidden_groups', 1);
  if (hiddenGroups < 1 || layers % hiddenGroups !== 0) {
    throw plbertSection.invalid('num_hidden_groups', `a divisor of num_hidden_layers (${layers})`);
  }
  return {
    vocab,
    tokens,
    hiddenDim: config.int('hidden_dim'),
    styleDim: config.int('style_dim'),
    layers: config.int('n_layer'),
    maxDuration: config.int('max_dur'),
    textEncoderKernelSize: config.int('text_encoder_kernel_size'),
    sampleRate: config.int('sample_rate', 24000),
    plbert: {
      hiddenSize: plbertSection.int('hidden_size'),
      heads: plbertSection.int('num_attention_heads'),
      intermediateSize: plbertSection.int('intermediate_size'),
      maxPositions: plbertSection.int('max_position_embeddings'),
      layers,
      embeddingSize: plbertSection.int('embedding_size', 128),
      hiddenGroups,
      innerGroupLayers: plbertSection.int('inner_group_num', 1),
      typeVocabSize: plbertSection.int('type_vocab_size', 2),
      layerNormEps: plbertSection.number('layer_norm_eps', 1e-12),
      hiddenAct: plbertSection.string('hidden_act', 'gelu_new'),
    },
    istftnet: {
      upsampleRates,
      upsampleKernelSizes,
      upsampleInitialChannel: istftSection.int('upsample_initial_channel'),
      resblockKernelSizes,
      resblockDilationSizes,
      fftSize: istftSection.int('gen_istft_n_fft'),
      hop: istftSection.int('gen_istft_hop_size'),
    },
  };
}
