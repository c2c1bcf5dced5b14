import { Inject, Injectable } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { ArtifactStore, artifactsDir, type ImageGenerationPayload, type ImageGenerationResult } from '@mlx-omni/jobs';
import type { CreateImageRequestDto, ImagesResponseDto } from '@mlx-omni/openai-dto';
import { ApiError } from '../common/errors/api-error';
import type { RequestContext } from '../common/http/request-context';
import { InferenceGateway } from '../inference/inference-gateway.service';
import type { JobResponseDto } from '../jobs/dto/job-response.dto';

/** The sides FLUX is asked for: multiples of its 16-pixel latent patches, within what fits a worker. */
export const IMAGE_SIDE = { multiple: 16, min: 64, max: 2048 } as const;
const DEFAULT_SIZE = { width: 1024, height: 1024 };

const badRequest = (message: string, param: string, code = 'invalid_value') => new ApiError(400, message, { param, code });

/** `WIDTHxHEIGHT` (or `auto`) → pixels; 400 naming `size` when malformed or out of range. */
export function parseImageSize(size: string | undefined): { width: number; height: number } {
  if (size === undefined || size === 'auto') {
    return DEFAULT_SIZE;
  }
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(size);
  if (!match) {
    throw badRequest(`size must be WIDTHxHEIGHT (for example 1024x1024) or auto; got "${size}"`, 'size');
  }
  const [width, height] = [Number(match[1]), Number(match[2])];
  for (const side of [width, height]) {
    if (side % IMAGE_SIDE.multiple !== 0 || side < IMAGE_SIDE.min || side > IMAGE_SIDE.max) {
      throw badRequest(`size ${size}: width and height must be multiples of ${IMAGE_SIDE.multiple} from ${IMAGE_SIDE.min} to ${IMAGE_SIDE.max}`, 'size');
    }
  }
  return { width, height };
}

/** The answer to an image request: the images, or (still rendering past MLX_OMNI_JOB_WAIT_S) the job to poll. */
export type ImagesAnswer = { status: 200; body: ImagesResponseDto } | { status: 202; body: JobResponseDto };

@Injectable()
export class ImagesService {
  private readonly store: ArtifactStore;

  constructor(
    @Inject(OMNI_CONFIG) config: OmniConfig,
    private readonly gateway: InferenceGateway,
  ) {
    this.store = new ArtifactStore(artifactsDir(config.stateDir));
  }

  /** Validates, resolves the model, and runs an `images/generate` job on a worker; `baseUrl` makes the files' URLs. */
  async generate(body: CreateImageRequestDto, baseUrl: string, context: RequestContext, signal: AbortSignal): Promise<ImagesAnswer> {
    if (body.negative_prompt !== undefined && body.negative_prompt !== null) {
      throw badRequest('negative_prompt is not supported: FLUX.1 is guidance-distilled and has no classifier-free guidance to steer away from a prompt', 'negative_prompt', 'unsupported_parameter');
    }
    if (body.stream === true) {
      throw badRequest('Streaming partial images is not supported; leave stream unset', 'stream', 'unsupported_parameter');
    }
    const { width, height } = parseImageSize(body.size);
    const model = await this.gateway.resolve(body.model, 'image');
    const payload: ImageGenerationPayload = {
      model: body.model,
      path: model.path,
      prompt: body.prompt,
      n: body.n ?? 1,
      width,
      height,
      steps: body.steps ?? null,
      guidance: body.guidance ?? null,
      seed: body.seed ?? null,
      output_format: body.output_format ?? 'png',
      output_compression: body.output_compression ?? null,
    };
    const job = await this.gateway.job('images', 'generate', payload, { endpoint: 'images', model, modelName: body.model, context, signal, prompt: body.prompt });
    if (job.status !== 'completed') {
      return { status: 202, body: job };
    }
    return { status: 200, body: await this.response(job, body.response_format ?? 'url', baseUrl) };
  }

  private async response(job: JobResponseDto, format: 'url' | 'b64_json', baseUrl: string): Promise<ImagesResponseDto> {
    const result = job.result as ImageGenerationResult;
    const data = await Promise.all(
      result.images.map(async ({ file, seed }) => {
        if (format === 'url') {
          return { url: `${baseUrl}/v1/files/${file.id}/content`, seed };
        }
        const found = await this.store.find(file.id);
        if (found === undefined) {
          throw new ApiError(503, 'The generated image expired before it could be returned; retry the request', { code: 'file_expired' });
        }
        return { b64_json: (await readFile(found.path)).toString('base64'), seed };
      }),
    );
    return { created: job.finished_at ?? job.created_at, data, output_format: result.output_format };
  }
}
