import { core as mx } from '@frost-beta/mlx';
import { load as parseYaml } from 'js-yaml';
import { F5_VOCODER_FILES } from '@mlx-omni/model-families';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Stft } from '../../audio/stft';
import { InvalidModelConfigError, ModelFileMissingError } from '../../io/errors';
import { isJsonObject, ModelConfig } from '../../io/model-config';
import type { Conv1d } from '../../nn/conv';
import { ConvNeXtBlock } from '../../nn/convnext';
import type { Linear } from '../../nn/layers';
import type { LayerNorm } from '../../nn/norms';
import { F5_NORM_EPS, type F5Weights } from './modules';

const [VOCOS_CONFIG, VOCOS_WEIGHTS] = F5_VOCODER_FILES;
export { VOCOS_WEIGHTS };

/** What Vocos's config.yaml (a Lightning CLI config) states that its tensors do not: the audio framing. */
export interface VocosAudio {
  sampleRate: number;
  hop: number;
  nFft: number;
  nMels: number;
}

/**
 * Reads the feature extractor's and the ISTFT head's framing from config.yaml. Only the centred ("center")
 * padding of mel-24khz is implemented; the head and the features must agree on hop and FFT size.
 */
export async function readVocosAudio(dir: string): Promise<VocosAudio> {
  const path = join(dir, VOCOS_CONFIG);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ModelFileMissingError(path, 'the Vocos vocoder needs its config.yaml');
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new InvalidModelConfigError(path, `not valid YAML (${(error as Error).message})`);
  }
  if (!isJsonObject(parsed)) {
    throw new InvalidModelConfigError(path, 'the top level is not a mapping');
  }
  const args = (section: string): ModelConfig => {
    const config = new ModelConfig(parsed, path).object(section)?.object('init_args');
    if (config === undefined) {
      throw new InvalidModelConfigError(path, `"${section}.init_args" is missing`);
    }
    return config;
  };
  const features = args('feature_extractor');
  const head = args('head');
  for (const config of [features, head]) {
    if (config.string('padding', 'center') !== 'center') {
      throw config.invalid('padding', '"center" (the only framing implemented)');
    }
  }
  const audio = { sampleRate: features.int('sample_rate'), hop: features.int('hop_length'), nFft: features.int('n_fft'), nMels: features.int('n_mels') };
  if (head.int('hop_length') !== audio.hop || head.int('n_fft') !== audio.nFft) {
    throw new InvalidModelConfigError(path, 'the ISTFT head and the mel features must use the same hop_length and n_fft');
  }
  return audio;
}

/** Vocos's tensors that inference does not read: the feature extractor (F5 computes its own mel) and the window buffers. */
export function isVocosInferenceTensor(name: string): boolean {
  return !name.startsWith('feature_extractor.') && name !== 'head.istft.window';
}

/**
 * Vocos (Siuzdak 2023) as a mel vocoder: a convolutional embedding, ConvNeXt blocks with layer scale and
 * a linear head giving each frame's log-magnitude and phase, turned into a waveform by the inverse STFT.
 */
export class Vocos {
  private readonly embed: Conv1d;
  private readonly norm: LayerNorm;
  private readonly blocks: ConvNeXtBlock[];
  private readonly finalNorm: LayerNorm;
  private readonly head: Linear;
  readonly nMels: number;

  constructor(
    w: F5Weights,
    private readonly stft: Stft,
  ) {
    const b = 'backbone';
    const embedShape = w.storedShape(`${b}.embed.weight`);
    const dim = embedShape[0];
    this.nMels = w.layout === 'torch' ? embedShape[1] : embedShape[2];
    this.embed = w.conv(`${b}.embed`, this.nMels);
    this.norm = w.layerNorm(`${b}.norm`, dim, F5_NORM_EPS);
    const layers = w.count(`${b}.convnext`, 'gamma');
    this.blocks = Array.from({ length: layers }, (_, i) => {
      const block = `${b}.convnext.${i}`;
      const inner = w.moduleShape(`${block}.pwconv1`)[0];
      return new ConvNeXtBlock({
        depthwise: w.conv(`${block}.dwconv`, dim),
        norm: w.layerNorm(`${block}.norm`, dim, F5_NORM_EPS),
        expand: w.linear(`${block}.pwconv1`, dim, inner),
        project: w.linear(`${block}.pwconv2`, inner, dim),
        layerScale: w.tensor(`${block}.gamma`, [dim]),
      });
    });
    this.finalNorm = w.layerNorm(`${b}.final_layer_norm`, dim, F5_NORM_EPS);
    this.head = w.linear('head.out', dim, 2 * stft.bins);
  }

  /** mel [frames, nMels] (natural-log magnitudes) → waveform [hop · (frames − 1)]. */
  forward(mel: mx.array): mx.array {
    let h = this.norm.forward(this.embed.forward(mel.reshape(1, mel.shape[0], this.nMels)));
    for (const block of this.blocks) {
      h = block.forward(h);
    }
    const [logMagnitude, phase] = mx.split(this.head.forward(this.finalNorm.forward(h)).index(0), 2, -1);
    // As Vocos: the magnitude is capped at 100 so a wild frame cannot blow up the overlap-add.
    return this.stft.inverse(mx.minimum(mx.exp(logMagnitude), 100), phase);
  }
}
