import { core as mx } from '@frost-beta/mlx';
import { uint8ToHost } from '../../io/host-arrays';
import type { PromptTokenizer } from '../../text/prompt-tokenizer';
import { eulerStep, flowSigmas, type FlowShift } from '../flow-sampler';
import type { ClipTextEncoder } from './clip';
import { sliceRunner, type SliceRunner } from './slices';
import type { T5Encoder } from './t5';
import type { FluxTransformer } from './transformer';
import type { VaeDecoder } from './vae';

/** schnell is timestep-distilled (few steps, no guidance); dev is guidance-distilled (a guidance scale, more steps). */
export type FluxVariant = 'schnell' | 'dev';

/** What the text encoders make of one prompt, shared by every image generated from it. */
export interface PromptEmbedding {
  /** T5 states [1, maxSequenceLength, dModel]. */
  text: mx.array;
  /** CLIP's pooled output [1, hidden]. */
  pooled: mx.array;
  /** Tokens the prompt took in T5 (specials included) and whether it was cut to fit. */
  promptTokens: number;
  truncated: boolean;
}

export interface FluxImageRequest {
  width: number;
  height: number;
  steps: number;
  /** Used by dev (guidance embedding); schnell ignores it. */
  guidance: number;
  seed: number;
}

export interface FluxImage {
  width: number;
  height: number;
  /** Row-major RGB bytes, width · height · 3. */
  rgb: Uint8Array;
  seed: number;
}

export interface FluxRunHooks {
  /** Runs each slice of work (see SliceRunner); default: in event-loop order, yielding between slices. */
  run?: SliceRunner;
  /** After each denoising step: `step` of `steps` done. */
  onStep?: (step: number, steps: number) => void | Promise<void>;
}

/** How the T5 encoder is held: loaded with the model, or read from disk for each prompt and let go after. */
export type TextEncoderResidency = 'resident' | 'per-prompt';

export interface FluxParts {
  variant: FluxVariant;
  transformer: FluxTransformer;
  vae: VaeDecoder;
  clip: ClipTextEncoder;
  t5: () => Promise<T5Encoder>;
  t5Residency: TextEncoderResidency;
  clipTokenizer: PromptTokenizer;
  t5Tokenizer: PromptTokenizer;
  schedule: FlowShift;
  /** Bytes the resident weights occupy. */
  weightBytes: number;
}

/**
 * FLUX.1 text-to-image, as diffusers' FluxPipeline: CLIP's pooled output and T5's states condition the
 * transformer; seeded Gaussian noise in packed-latent order (mflux's draw: the same seed gives the same
 * picture) is integrated from σ=1 to 0 with Euler steps of the predicted velocity; the latents are
 * unpacked from 2×2 patches and decoded by the VAE.
 */
export class FluxPipeline {
  constructor(private readonly parts: FluxParts) {}

  get variant(): FluxVariant {
    return this.parts.variant;
  }

  get weightBytes(): number {
    return this.parts.weightBytes;
  }

  get t5Residency(): TextEncoderResidency {
    return this.parts.t5Residency;
  }

  /** The pipelines' defaults: schnell 4 steps, guidance unused; dev 25 steps at guidance 3.5. */
  get defaults(): { steps: number; guidance: number } {
    return this.parts.variant === 'dev' ? { steps: 25, guidance: 3.5 } : { steps: 4, guidance: 0 };
  }

  /** Pixels per side of one packed latent patch (2 × the VAE's scale factor: 16 for FLUX.1). */
  get sizeMultiple(): number {
    return 2 * this.parts.vae.scaleFactor;
  }

  /** Both encoders' view of a prompt, each encoder one slice of `run` (T5, when read per prompt, is read outside it). */
  async encodePrompt(prompt: string, run: SliceRunner = sliceRunner()): Promise<PromptEmbedding> {
    const clipIds = this.parts.clipTokenizer.encode(prompt);
    const t5Ids = this.parts.t5Tokenizer.encode(prompt);
    const pooled = await run(() => this.parts.clip.pooled(clipIds.ids, clipIds.eosIndex));
    const t5 = await this.parts.t5();
    const text = await run(() => t5.encode(t5Ids.ids));
    return { text, pooled, promptTokens: t5Ids.promptTokens, truncated: t5Ids.truncated };
  }

  /** mflux's initial noise: N(0, 1) of [1, patches, packed channels] from MLX's generator keyed by the seed. */
  initialNoise(seed: number, width: number, height: number): mx.array {
    const { rows, columns } = this.patchGrid(width, height);
    return mx.random.normal([1, rows * columns, this.parts.transformer.config.inChannels], mx.float32, 0, 1, mx.random.key(seed));
  }

  async generate(prompt: PromptEmbedding, request: FluxImageRequest, hooks: FluxRunHooks = {}): Promise<FluxImage> {
    const run = hooks.run ?? sliceRunner();
    const { rows, columns } = this.patchGrid(request.width, request.height);
    const transformer = this.parts.transformer;
    const cond = transformer.condition(prompt.text, prompt.pooled, rows, columns, request.guidance);
    const sigmas = flowSigmas(request.steps, rows * columns, this.parts.schedule);
    let latents = this.initialNoise(request.seed, request.width, request.height);
    for (let step = 0; step < request.steps; step++) {
      const velocity = await transformer.forward(latents, sigmas[step], cond, run);
      latents = await run(() => eulerStep(latents, velocity, sigmas[step], sigmas[step + 1]));
      await hooks.onStep?.(step + 1, request.steps);
    }
    const image = await this.parts.vae.decode(this.unpack(latents, rows, columns), run);
    const rgb = uint8ToHost(mx.round(mx.multiply(image, 255)).reshape(request.height, request.width, 3));
    return { width: request.width, height: request.height, rgb, seed: request.seed };
  }

  private patchGrid(width: number, height: number): { rows: number; columns: number } {
    const multiple = this.sizeMultiple;
    if (width % multiple !== 0 || height % multiple !== 0 || width <= 0 || height <= 0) {
      throw new RangeError(`image sizes must be positive multiples of ${multiple}, got ${width}x${height}`);
    }
    return { rows: height / multiple, columns: width / multiple };
  }

  /** Packed [1, rows·columns, C·2·2] → channels-last latents [1, 2·rows, 2·columns, C] (diffusers' _unpack_latents). */
  private unpack(latents: mx.array, rows: number, columns: number): mx.array {
    const channels = latents.shape[2] / 4;
    return latents.reshape(1, rows, columns, channels, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(1, 2 * rows, 2 * columns, channels);
  }
}
