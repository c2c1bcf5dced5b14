import { core as mx } from '@frost-beta/mlx';
import { createHash } from 'node:crypto';
import { ensureSnapshots } from './ensure-fixtures';
import { packedQuantizedTensor, tensorSeed, uniform } from './random-tensors';
import { writeSnapshot, type SnapshotFile } from './hub-cache';
import { FIXTURE_ORG, type FixtureDtype, type FixtureQuantization } from './specs';

/**
 * Kokoro-82M's phoneme vocabulary (config.json `vocab`): punctuation, a few Latin letters and the IPA
 * symbols espeak-ng writes, with ids below n_token = 178 and gaps where v1.0 dropped symbols.
 */
export const KOKORO_VOCAB: Readonly<Record<string, number>> = Object.fromEntries(
  (
    [
      [';', 1], [':', 2], [',', 3], ['.', 4], ['!', 5], ['?', 6], ['—', 9], ['…', 10], ['"', 11], ['(', 12], [')', 13], ['“', 14], ['”', 15],
      [' ', 16], ['\u0303', 17], ['ʣ', 18], ['ʥ', 19], ['ʦ', 20], ['ʨ', 21], ['ᵝ', 22], ['ꭧ', 23], ['A', 24], ['I', 25], ['O', 31], ['Q', 33],
      ['S', 35], ['T', 36], ['W', 39], ['Y', 41], ['ᵊ', 42], ['a', 43], ['b', 44], ['c', 45], ['d', 46], ['e', 47], ['f', 48], ['h', 50],
      ['i', 51], ['j', 52], ['k', 53], ['l', 54], ['m', 55], ['n', 56], ['o', 57], ['p', 58], ['q', 59], ['r', 60], ['s', 61], ['t', 62],
      ['u', 63], ['v', 64], ['w', 65], ['x', 66], ['y', 67], ['z', 68], ['ɑ', 69], ['ɐ', 70], ['ɒ', 71], ['æ', 72], ['β', 75], ['ɔ', 76],
      ['ɕ', 77], ['ç', 78], ['ɖ', 80], ['ð', 81], ['ʤ', 82], ['ə', 83], ['ɚ', 85], ['ɛ', 86], ['ɜ', 87], ['ɟ', 90], ['ɡ', 92], ['ɥ', 99],
      ['ɨ', 101], ['ɪ', 102], ['ʝ', 103], ['ɯ', 110], ['ɰ', 111], ['ŋ', 112], ['ɳ', 113], ['ɲ', 114], ['ɴ', 115], ['ø', 116], ['ɸ', 118],
      ['θ', 119], ['œ', 120], ['ɹ', 123], ['ɾ', 125], ['ɻ', 126], ['ʁ', 128], ['ɽ', 129], ['ʂ', 130], ['ʃ', 131], ['ʈ', 132], ['ʧ', 133],
      ['ʊ', 135], ['ʋ', 136], ['ʌ', 138], ['ɣ', 139], ['ɤ', 140], ['χ', 142], ['ʎ', 143], ['ʒ', 147], ['ʔ', 148], ['ˈ', 156], ['ˌ', 157],
      ['ː', 158], ['ʰ', 162], ['ʲ', 164], ['↓', 169], ['→', 171], ['↗', 172], ['↘', 173], ['ᵻ', 177],
    ] as const
  ).map(([symbol, id]) => [symbol, id]),
);

export type KokoroFixtureNaming = 'pytorch' | 'mlx';

export interface KokoroFixtureSpec {
  id: string;
  /** hexgrad's PyTorch names and layouts (the bf16 repo) or mlx-audio's (its quantized conversions). */
  naming: KokoroFixtureNaming;
  config: Record<string, unknown>;
  dtype: FixtureDtype;
  /** Linear and Embedding weights whose rows divide by the group size are quantized (mlx-audio's rule). */
  quantization?: FixtureQuantization;
  /** The decoder's widths that hexgrad's code fixes (1024 and 64 in Kokoro-82M), shrunk for tests. */
  decoder: { encodeWidth: number; residualWidth: number };
  voices: readonly string[];
  /** Style rows per voice: one per phoneme count, 510 in Kokoro's packs. */
  voiceRows: number;
  weightsFile: string;
  seed: number;
  /** Bias of the duration head (default −2.5): sets the frames per phoneme, which the decoder's cost follows. */
  durationBias?: number;
}

const ISTFTNET_82M = {
  upsample_kernel_sizes: [20, 12],
  upsample_rates: [10, 6],
  gen_istft_hop_size: 5,
  gen_istft_n_fft: 20,
  resblock_dilation_sizes: [
    [1, 3, 5],
    [1, 3, 5],
    [1, 3, 5],
  ],
  resblock_kernel_sizes: [3, 7, 11],
  upsample_initial_channel: 512,
};

/** Kokoro-82M's config.json: no model_type, the vocab inline. */
function kokoroConfig(dims: { hidden: number; style: number; layers: number; plbert: Record<string, unknown>; istftnet: Record<string, unknown> }): Record<string, unknown> {
  return {
    istftnet: dims.istftnet,
    dim_in: 64,
    dropout: 0.2,
    hidden_dim: dims.hidden,
    max_conv_dim: 512,
    max_dur: 50,
    multispeaker: true,
    n_layer: dims.layers,
    n_mels: 80,
    n_token: 178,
    style_dim: dims.style,
    text_encoder_kernel_size: 5,
    plbert: dims.plbert,
    vocab: KOKORO_VOCAB,
  };
}

/** Small enough for a float64 reference in plain loops; every quantizable row a multiple of 64. */
const tinyConfig = kokoroConfig({
  hidden: 64,
  style: 64,
  layers: 2,
  plbert: { hidden_size: 64, num_attention_heads: 2, intermediate_size: 128, max_position_embeddings: 512, num_hidden_layers: 3, dropout: 0.1 },
  istftnet: {
    upsample_kernel_sizes: [8, 4],
    upsample_rates: [4, 2],
    gen_istft_hop_size: 2,
    gen_istft_n_fft: 8,
    resblock_dilation_sizes: [
      [1, 3, 5],
      [1, 3, 5],
    ],
    resblock_kernel_sizes: [3, 5],
    upsample_initial_channel: 32,
  },
});

const TEST_VOICES = ['af_alloy', 'af_heart', 'af_nova', 'am_echo', 'am_onyx', 'bf_emma', 'bm_fable', 'ef_dora'];

export const KOKORO_FIXTURE_SPECS: readonly KokoroFixtureSpec[] = [
  {
    id: `${FIXTURE_ORG}/tiny-kokoro-fp32`,
    naming: 'pytorch',
    config: tinyConfig,
    dtype: 'float32',
    decoder: { encodeWidth: 48, residualWidth: 16 },
    voices: TEST_VOICES,
    voiceRows: 510,
    weightsFile: 'kokoro-v1_0.safetensors',
    seed: 41,
  },
  {
    id: `${FIXTURE_ORG}/tiny-kokoro-4bit`,
    naming: 'mlx',
    config: tinyConfig,
    dtype: 'bfloat16',
    quantization: { groupSize: 64, bits: 4 },
    decoder: { encodeWidth: 48, residualWidth: 16 },
    voices: TEST_VOICES,
    voiceRows: 510,
    weightsFile: 'kokoro-v1_0.safetensors',
    seed: 42,
  },
];

/** Kokoro-82M's real shapes (82M parameters) in the bf16 repo's layout, for `npm run bench:speech`. */
export const KOKORO_BENCH_SPEC: KokoroFixtureSpec = {
  id: `${FIXTURE_ORG}/bench-kokoro-82m-bf16`,
  naming: 'pytorch',
  config: kokoroConfig({
    hidden: 512,
    style: 128,
    layers: 3,
    plbert: { hidden_size: 768, num_attention_heads: 12, intermediate_size: 2048, max_position_embeddings: 512, num_hidden_layers: 12, dropout: 0.1 },
    istftnet: ISTFTNET_82M,
  }),
  dtype: 'bfloat16',
  decoder: { encodeWidth: 1024, residualWidth: 64 },
  voices: ['af_heart'],
  voiceRows: 510,
  weightsFile: 'kokoro-v1_0.safetensors',
  seed: 43,
  // At full width the head's logits spread wider; this keeps speech near a trained Kokoro's 3-6 frames (75-150 ms) per phoneme.
  durationBias: -5,
};

export const ALL_KOKORO_FIXTURE_SPECS: readonly KokoroFixtureSpec[] = [...KOKORO_FIXTURE_SPECS, KOKORO_BENCH_SPEC];

/** How a tensor's values are drawn. */
type Role =
  | { kind: 'uniform'; std: number; offset?: number }
  | { kind: 'linear'; gain: number }
  | { kind: 'positions' };

/** A tensor as the checkpoint stores it (PyTorch names and shapes; see `storedAs` for mlx-audio's). */
interface KokoroTensor {
  name: string;
  shape: number[];
  role: Role;
  /** A Linear or Embedding weight (quantizable). */
  quantizable?: boolean;
  /** A convolution weight: PyTorch [a, b, kernel], stored [a, kernel, b] by mlx-audio. */
  conv?: boolean;
  /** An LSTM tensor, renamed by mlx-audio. */
  lstm?: boolean;
}

function num(config: Record<string, unknown>, key: string): number {
  const value = config[key];
  if (typeof value !== 'number') {
    throw new Error(`Kokoro fixture config needs a numeric "${key}"`);
  }
  return value;
}

/**
 * Every tensor of a Kokoro checkpoint, with hexgrad's module names and PyTorch shapes, written from
 * kokoro/modules.py and istftnet.py rather than from the engine, so a naming slip on either side shows.
 * Value roles keep activations O(1) and give the tiny model audible structure: voiced F0 (bias 120 Hz),
 * a few frames per phoneme varying between phonemes (duration bias −2.5, larger weights), and
 * log-magnitudes below zero, as a trained Kokoro has.
 */
function kokoroTensors(spec: KokoroFixtureSpec): KokoroTensor[] {
  const config = spec.config;
  const plbert = config['plbert'] as Record<string, unknown>;
  const net = config['istftnet'] as Record<string, unknown>;
  const hidden = num(config, 'hidden_dim');
  const style = num(config, 'style_dim');
  const layers = num(config, 'n_layer');
  const tokens = num(config, 'n_token');
  const half = hidden / 2;
  const bertHidden = num(plbert, 'hidden_size');
  const embedding = typeof plbert['embedding_size'] === 'number' ? plbert['embedding_size'] : 128;
  const intermediate = num(plbert, 'intermediate_size');
  const positions = num(plbert, 'max_position_embeddings');
  const out: KokoroTensor[] = [];
  const uniformRole = (std: number, offset?: number): Role => ({ kind: 'uniform', std, offset });
  const linear = (name: string, inF: number, outF: number, bias = true, biasOffset?: number, gain = 1) => {
    out.push({ name: `${name}.weight`, shape: [outF, inF], role: { kind: 'linear', gain }, quantizable: true });
    if (bias) {
      out.push({ name: `${name}.bias`, shape: [outF], role: uniformRole(0.1, biasOffset) });
    }
  };
  const layerNorm = (name: string, dim: number, [w, b] = ['weight', 'bias']) => {
    out.push({ name: `${name}.${w}`, shape: [dim], role: uniformRole(0.1, 1) }, { name: `${name}.${b}`, shape: [dim], role: uniformRole(0.1) });
  };
  const conv = (name: string, outC: number, inC: number, kernel: number, opts: { weightNorm?: boolean; bias?: boolean; biasOffset?: number; gain?: number } = {}) => {
    const std = 1 / Math.sqrt(inC * kernel);
    if (opts.weightNorm ?? true) {
      const gain = opts.gain ?? 1;
      out.push({ name: `${name}.weight_g`, shape: [outC, 1, 1], role: uniformRole(0.1 * gain, gain) });
      out.push({ name: `${name}.weight_v`, shape: [outC, inC, kernel], role: uniformRole(std), conv: true });
    } else {
      out.push({ name: `${name}.weight`, shape: [outC, inC, kernel], role: uniformRole(std), conv: true });
    }
    if (opts.bias ?? true) {
      out.push({ name: `${name}.bias`, shape: [outC], role: uniformRole(0.1, opts.biasOffset) });
    }
  };
  /** ConvTranspose1d: weight [in, out/groups, kernel], weight_g [in, 1, 1]. */
  const convTranspose = (name: string, inC: number, outPerGroup: number, kernel: number, outC: number) => {
    out.push({ name: `${name}.weight_g`, shape: [inC, 1, 1], role: uniformRole(0.1, 1) });
    out.push({ name: `${name}.weight_v`, shape: [inC, outPerGroup, kernel], role: uniformRole(1 / Math.sqrt(kernel)), conv: true });
    out.push({ name: `${name}.bias`, shape: [outC], role: uniformRole(0.1) });
  };
  const lstm = (name: string, input: number, h: number) => {
    for (const suffix of ['', '_reverse']) {
      const std = 1 / Math.sqrt(h);
      out.push(
        { name: `${name}.weight_ih_l0${suffix}`, shape: [4 * h, input], role: uniformRole(std), lstm: true },
        { name: `${name}.weight_hh_l0${suffix}`, shape: [4 * h, h], role: uniformRole(std), lstm: true },
        { name: `${name}.bias_ih_l0${suffix}`, shape: [4 * h], role: uniformRole(std), lstm: true },
        { name: `${name}.bias_hh_l0${suffix}`, shape: [4 * h], role: uniformRole(std), lstm: true },
      );
    }
  };
  const adaIn = (name: string, channels: number) => linear(`${name}.fc`, style, 2 * channels);
  const adainResBlk = (name: string, dimIn: number, dimOut: number, upsample = false) => {
    conv(`${name}.conv1`, dimOut, dimIn, 3);
    conv(`${name}.conv2`, dimOut, dimOut, 3);
    adaIn(`${name}.norm1`, dimIn);
    adaIn(`${name}.norm2`, dimOut);
    if (dimIn !== dimOut) {
      conv(`${name}.conv1x1`, dimOut, dimIn, 1, { bias: false });
    }
    if (upsample) {
      convTranspose(`${name}.pool`, dimIn, 1, 3, dimIn);
    }
  };
  const adaInResBlock1 = (name: string, channels: number, kernel: number) => {
    for (const convs of ['convs1', 'convs2']) {
      for (let j = 0; j < 3; j++) {
        conv(`${name}.${convs}.${j}`, channels, channels, kernel);
      }
    }
    for (const norms of ['adain1', 'adain2']) {
      for (let j = 0; j < 3; j++) {
        adaIn(`${name}.${norms}.${j}`, channels);
      }
    }
    for (const alphas of ['alpha1', 'alpha2']) {
      for (let j = 0; j < 3; j++) {
        // Snake divides by α: kept well away from zero, as trained values are.
        out.push({ name: `${name}.${alphas}.${j}`, shape: [1, channels, 1], role: uniformRole(0.1, 1) });
      }
    }
  };

  // bert (CustomAlbert) and bert_encoder.
  out.push({ name: 'bert.embeddings.position_ids', shape: [1, positions], role: { kind: 'positions' } });
  out.push({ name: 'bert.embeddings.word_embeddings.weight', shape: [tokens, embedding], role: uniformRole(1), quantizable: true });
  out.push({ name: 'bert.embeddings.position_embeddings.weight', shape: [positions, embedding], role: uniformRole(0.5), quantizable: true });
  out.push({ name: 'bert.embeddings.token_type_embeddings.weight', shape: [2, embedding], role: uniformRole(0.5), quantizable: true });
  layerNorm('bert.embeddings.LayerNorm', embedding);
  linear('bert.encoder.embedding_hidden_mapping_in', embedding, bertHidden);
  const layer = 'bert.encoder.albert_layer_groups.0.albert_layers.0';
  layerNorm(`${layer}.full_layer_layer_norm`, bertHidden);
  for (const projection of ['query', 'key', 'value', 'dense']) {
    linear(`${layer}.attention.${projection}`, bertHidden, bertHidden);
  }
  layerNorm(`${layer}.attention.LayerNorm`, bertHidden);
  linear(`${layer}.ffn`, bertHidden, intermediate);
  linear(`${layer}.ffn_output`, intermediate, bertHidden);
  linear('bert.pooler', bertHidden, bertHidden);
  linear('bert_encoder', bertHidden, hidden);

  // predictor (ProsodyPredictor).
  for (let l = 0; l < layers; l++) {
    lstm(`predictor.text_encoder.lstms.${2 * l}`, hidden + style, half);
    linear(`predictor.text_encoder.lstms.${2 * l + 1}.fc`, style, 2 * hidden);
  }
  lstm('predictor.lstm', hidden + style, half);
  linear('predictor.duration_proj.linear_layer', hidden, num(config, 'max_dur'), true, spec.durationBias ?? -2.5, 6);
  lstm('predictor.shared', hidden + style, half);
  for (const branch of ['F0', 'N']) {
    adainResBlk(`predictor.${branch}.0`, hidden, hidden);
    adainResBlk(`predictor.${branch}.1`, hidden, half, true);
    adainResBlk(`predictor.${branch}.2`, half, half);
  }
  conv('predictor.F0_proj', 1, half, 1, { weightNorm: false, biasOffset: 120 });
  conv('predictor.N_proj', 1, half, 1, { weightNorm: false });

  // text_encoder (TextEncoder).
  out.push({ name: 'text_encoder.embedding.weight', shape: [tokens, hidden], role: uniformRole(1), quantizable: true });
  for (let l = 0; l < layers; l++) {
    conv(`text_encoder.cnn.${l}.0`, hidden, hidden, num(config, 'text_encoder_kernel_size'));
    layerNorm(`text_encoder.cnn.${l}.1`, hidden, ['gamma', 'beta']);
  }
  lstm('text_encoder.lstm', hidden, half);

  // decoder (Decoder and Generator).
  const { encodeWidth, residualWidth } = spec.decoder;
  const initial = num(net, 'upsample_initial_channel');
  adainResBlk('decoder.encode', hidden + 2, encodeWidth);
  for (let i = 0; i < 4; i++) {
    adainResBlk(`decoder.decode.${i}`, encodeWidth + residualWidth + 2, i === 3 ? initial : encodeWidth, i === 3);
  }
  conv('decoder.F0_conv', 1, 1, 3);
  conv('decoder.N_conv', 1, 1, 3);
  conv('decoder.asr_res.0', residualWidth, hidden, 1);
  const rates = net['upsample_rates'] as number[];
  const kernels = net['upsample_kernel_sizes'] as number[];
  const resKernels = net['resblock_kernel_sizes'] as number[];
  const fft = num(net, 'gen_istft_n_fft');
  linear('decoder.generator.m_source.l_linear', 9, 1);
  rates.forEach((rate, i) => {
    const channels = initial / 2 ** (i + 1);
    convTranspose(`decoder.generator.ups.${i}`, 2 * channels, channels, kernels[i], channels);
    resKernels.forEach((kernel, j) => adaInResBlock1(`decoder.generator.resblocks.${i * resKernels.length + j}`, channels, kernel));
    const strideF0 = rates.slice(i + 1).reduce((a, b) => a * b, 1);
    const last = i + 1 === rates.length;
    conv(`decoder.generator.noise_convs.${i}`, channels, fft + 2, last ? 1 : 2 * strideF0, { weightNorm: false });
    adaInResBlock1(`decoder.generator.noise_res.${i}`, channels, last ? 11 : 7);
  });
  // Log-magnitudes around −3, as a trained vocoder's: the waveform stays within [-1, 1].
  conv('decoder.generator.conv_post', fft + 2, initial / 2 ** rates.length, 7, { gain: 0.3, biasOffset: -3 });
  return out;
}

/** mlx-audio's name for a hexgrad tensor: LSTMs as Wx/Wh/bias_*_{forward,backward}, the text encoder's LayerNorm gamma/beta as weight/bias. */
function mlxName(name: string): string {
  const lstm = /^(.*)\.(weight_ih|weight_hh|bias_ih|bias_hh)_l0(_reverse)?$/.exec(name);
  if (lstm) {
    const [, module, kind, reverse] = lstm;
    const renamed = { weight_ih: 'Wx', weight_hh: 'Wh', bias_ih: 'bias_ih', bias_hh: 'bias_hh' }[kind as 'weight_ih'];
    return `${module}.${renamed}_${reverse ? 'backward' : 'forward'}`;
  }
  return name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
}

function isQuantized(spec: KokoroFixtureSpec, tensor: KokoroTensor): boolean {
  const q = spec.quantization;
  return q !== undefined && tensor.quantizable === true && tensor.shape[tensor.shape.length - 1] % q.groupSize === 0;
}

const GENERATOR_VERSION = 3;

export function kokoroFixtureRevision(spec: KokoroFixtureSpec): string {
  return createHash('sha1').update(`kokoro ${GENERATOR_VERSION}\n${JSON.stringify(spec)}`).digest('hex');
}

const DTYPES = { float32: mx.float32, bfloat16: mx.bfloat16, float16: mx.float16 };

async function writeWeights(spec: KokoroFixtureSpec, path: string): Promise<void> {
  const dtype = DTYPES[spec.dtype];
  const out: Record<string, mx.array> = {};
  for (const tensor of kokoroTensors(spec)) {
    const seed = (draw: number) => tensorSeed(spec.seed, `${tensor.name}#${draw}`);
    const name = spec.naming === 'mlx' ? mlxName(tensor.name) : tensor.name;
    if (tensor.role.kind === 'positions') {
      // Hugging Face's AlbertEmbeddings buffer, in the PyTorch export only (mlx-audio drops it).
      if (spec.naming === 'pytorch') {
        out[name] = mx.arange(tensor.shape[1], mx.int64).reshape(tensor.shape);
      }
      continue;
    }
    const std = tensor.role.kind === 'linear' ? tensor.role.gain / Math.sqrt(tensor.shape[1]) : tensor.role.std;
    const produced: Array<[string, mx.array]> = [];
    if (isQuantized(spec, tensor)) {
      const module = name.replace(/\.weight$/, '');
      const [words, scales, biases] = packedQuantizedTensor(spec.seed, tensor.name, tensor.shape, std, spec.quantization!);
      produced.push([`${module}.weight`, words], [`${module}.scales`, scales.astype(dtype)], [`${module}.biases`, biases.astype(dtype)]);
    } else {
      let values = uniform(tensor.shape, std, mx.random.key(seed(0)));
      if (tensor.role.kind === 'uniform' && tensor.role.offset !== undefined) {
        values = mx.add(values, tensor.role.offset);
      }
      produced.push([name, (spec.naming === 'mlx' && tensor.conv ? values.transpose(0, 2, 1) : values).astype(dtype)]);
    }
    for (const [key, array] of produced) {
      mx.eval(array);
      out[key] = array;
    }
    await new Promise(setImmediate);
  }
  mx.saveSafetensors(path, out, { format: spec.naming === 'mlx' ? 'mlx' : 'pt' });
}

function voiceFile(spec: KokoroFixtureSpec, voice: string): SnapshotFile {
  const width = 2 * num(spec.config, 'style_dim');
  return {
    name: `voices/${voice}.safetensors`,
    write: async (path) => {
      const values = uniform([spec.voiceRows, 1, width], 0.3, mx.random.key(tensorSeed(spec.seed, `voice:${voice}`)));
      mx.saveSafetensors(path, { voice: values }, { format: 'pt' });
    },
  };
}

async function writeKokoroFixture(hubCacheDir: string, spec: KokoroFixtureSpec, revision: string): Promise<void> {
  const config: Record<string, unknown> = { ...spec.config };
  if (spec.quantization) {
    config['quantization'] = { group_size: spec.quantization.groupSize, bits: spec.quantization.bits };
  }
  await writeSnapshot(hubCacheDir, spec.id, revision, [
    { name: 'config.json', content: Buffer.from(JSON.stringify(config, null, 2)) },
    { name: spec.weightsFile, write: (path) => writeWeights(spec, path) },
    ...spec.voices.map((voice) => voiceFile(spec, voice)),
  ]);
}

/** Makes sure the Kokoro fixtures exist in `hubCacheDir` (a Hugging Face cache); returns each id's snapshot folder. */
export async function ensureKokoroFixtures(hubCacheDir: string, ids?: string[]): Promise<Map<string, string>> {
  const specs = ids
    ? ids.map((id) => {
        const spec = ALL_KOKORO_FIXTURE_SPECS.find((s) => s.id === id);
        if (!spec) {
          throw new Error(`Unknown Kokoro fixture "${id}"; known: ${ALL_KOKORO_FIXTURE_SPECS.map((s) => s.id).join(', ')}`);
        }
        return spec;
      })
    : KOKORO_FIXTURE_SPECS;
  return ensureSnapshots(hubCacheDir, specs, kokoroFixtureRevision, writeKokoroFixture);
}
