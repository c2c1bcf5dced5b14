import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import sharp from 'sharp';
import { ensureFixtures, ensureFluxFixtures, FIXTURE_ORG, testHubDir } from '@mlx-omni/model-fixtures';
import { expectOpenAiSchema } from '@mlx-omni/openai-dto/testing';
import { waitFor } from './support/processes';
import { startStack, type RunningStack } from './support/stack';

const SCHNELL = `${FIXTURE_ORG}/tiny-flux-schnell`;
const MFLUX_4BIT = `${FIXTURE_ORG}/tiny-flux-schnell-mflux-4bit`;
const DIFFUSIONKIT = `${FIXTURE_ORG}/tiny-mlx-flux-schnell`;
const DEV = `${FIXTURE_ORG}/tiny-flux-dev`;
const CHAT = `${FIXTURE_ORG}/tiny-qwen3-fp32`;

async function fixtures(): Promise<string> {
  const hub = testHubDir();
  await ensureFluxFixtures(hub, [SCHNELL, MFLUX_4BIT, DIFFUSIONKIT, DEV]);
  await ensureFixtures(hub, [CHAT]);
  return hub;
}

const pngOf = (image: OpenAI.Images.Image) => Buffer.from(image.b64_json!, 'base64');

describe('image generation through the official OpenAI client (API → BullMQ → worker → FLUX on MLX)', () => {
  let stack: RunningStack;
  let client: OpenAI;

  beforeAll(async () => {
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: await fixtures() } });
    await stack.waitUntilReady();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0, timeout: 300_000 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers n seeded images as a schema-valid ImagesResponse: PNGs of the asked size, image i from seed + i', async () => {
    const response = await client.images.generate({ model: SCHNELL, prompt: 'a photo of a cat', n: 2, size: '80x64' as '256x256', response_format: 'b64_json', seed: 5 } as OpenAI.Images.ImageGenerateParamsNonStreaming);
    expectOpenAiSchema('ImagesResponse', response);
    expect(response.data).toHaveLength(2);
    const [first, second] = response.data!.map(pngOf);
    for (const png of [first, second]) {
      expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 80, height: 64, channels: 3 });
    }
    expect(first.equals(second)).toBe(false);
    expect(response.data!.map((image) => (image as { seed?: number }).seed)).toEqual([5, 6]);
    // The same seed again: the same picture.
    const again = await client.images.generate({ model: SCHNELL, prompt: 'a photo of a cat', size: '80x64', response_format: 'b64_json', seed: 6 } as unknown as OpenAI.Images.ImageGenerateParamsNonStreaming);
    expect(pngOf(again.data![0]).equals(second)).toBe(true);
  });

  it('serves url results from /v1/files (never file:// paths), in png, jpeg and webp', async () => {
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const response = await client.images.generate({ model: SCHNELL, prompt: 'mountains covered in snow', size: '64x64' as '256x256', output_format: format, output_compression: 80, response_format: 'url' });
      const url = response.data![0].url!;
      expect(url).toMatch(new RegExp(`^${stack.baseUrl}/v1/files/file-[0-9a-f]{24}/content$`));
      const file = await fetch(url);
      expect([format, file.status, file.headers.get('content-type')]).toEqual([format, 200, `image/${format}`]);
      expect((await sharp(Buffer.from(await file.arrayBuffer())).metadata()).format).toBe(format);
      expect(response.output_format).toBe(format);
    }
  });

  it('generates from the mflux 4-bit save, the DiffusionKit layout (text encoders from its companion repos) and dev', async () => {
    for (const model of [MFLUX_4BIT, DIFFUSIONKIT, DEV]) {
      const response = await client.images.generate({ model, prompt: 'a lighthouse at dusk', size: '64x64' as '256x256', response_format: 'b64_json', steps: 2 } as OpenAI.Images.ImageGenerateParamsNonStreaming);
      expect([model, (await sharp(pngOf(response.data![0])).metadata()).width]).toEqual([model, 64]);
    }
    const listed = await stack.request(`/v1/models/${DIFFUSIONKIT}`);
    expect(listed.body).toMatchObject({ kind: 'image', family: 'flux', supported: true });
    expect(listed.body.companions).toEqual([
      { repo: 'argmaxinc/stable-diffusion', provides: expect.any(String), cached: true },
      { repo: 'google/t5-v1_1-xxl', provides: expect.any(String), cached: true },
    ]);
  });

  it.each<[string, Record<string, unknown>, string | null]>([
    ['an empty prompt', { prompt: '' }, 'prompt'],
    ['no prompt', { prompt: undefined }, 'prompt'],
    ['n 0', { n: 0 }, 'n'],
    ['n 11', { n: 11 }, 'n'],
    ['a malformed size', { size: 'big' }, 'size'],
    ['a size off the 16-pixel grid', { size: '100x100' }, 'size'],
    ['a size beyond the limits', { size: '4096x4096' }, 'size'],
    ['an unknown output format', { output_format: 'gif' }, 'output_format'],
    ['an unknown response format', { response_format: 'xml' }, 'response_format'],
    ['a negative prompt', { negative_prompt: 'blurry' }, 'negative_prompt'],
    ['a chat model', { model: CHAT }, 'model'],
  ])('answers 400 in the OpenAI envelope for %s', async (_case, change, param) => {
    const body = { model: SCHNELL, prompt: 'a cat', size: '64x64', ...change };
    const error = await client.images.generate(body as unknown as OpenAI.Images.ImageGenerateParamsNonStreaming).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).error).toMatchObject({ param });
  });

  it('answers 404 model_not_found for a model that is not cached', async () => {
    const error = await client.images.generate({ model: 'nobody/no-such-flux', prompt: 'a cat' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe('model_not_found');
  });

  it('shows the images queue on /metrics', async () => {
    const metrics = await stack.request('/metrics');
    expect(metrics.text).toMatch(/mlx_omni_queue_jobs\{queue="images",state="completed"\} [1-9]/);
  });
});

describe('an image request past MLX_OMNI_JOB_WAIT_S', () => {
  let stack: RunningStack;

  beforeAll(async () => {
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: await fixtures(), MLX_OMNI_JOB_WAIT_S: '0' } });
    await stack.waitUntilReady();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers 202 with the job, whose progress counts steps and whose result names the image files', async () => {
    const accepted = await stack.request('/v1/images/generations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: SCHNELL, prompt: 'a red sofa', n: 2, size: '64x64', steps: 3, seed: 11 }),
    });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ object: 'job', queue: 'images', name: 'generate' });
    let job: { status: string; progress: unknown; result: { images: Array<{ file: { id: string }; seed: number }>; steps: number } } | undefined;
    await waitFor('the image job to complete', async () => {
      job = (await stack.request(`/v1/jobs/${accepted.body.id}`)).body;
      return job?.status === 'completed';
    }, 240_000);
    expect(job!.progress).toEqual({ step: 3, steps: 3, image: 1, images: 2 });
    expect(job!.result.images.map((image) => image.seed)).toEqual([11, 12]);
    const file = await fetch(`${stack.baseUrl}/v1/files/${job!.result.images[1].file.id}/content`);
    expect([file.status, file.headers.get('content-type')]).toEqual([200, 'image/png']);
  });

  it('stops a running image job on DELETE /v1/jobs/{id}: the worker gives it up and the job is gone', async () => {
    const accepted = await stack.request('/v1/images/generations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: SCHNELL, prompt: 'a very long render', n: 10, size: '1024x1024', steps: 50, seed: 3 }),
    });
    expect(accepted.status).toBe(202);
    const id = accepted.body.id as string;
    await waitFor('the image job to render its first step', async () => ((await stack.request(`/v1/jobs/${id}`)).body.progress?.step ?? 0) >= 1, 240_000);
    const deleted = await stack.request(`/v1/jobs/${id}`, { method: 'DELETE' });
    expect(deleted.body).toEqual({ id, object: 'job', deleted: true, previous_status: 'active' });
    expect((await stack.request(`/v1/jobs/${id}`)).status).toBe(404);
    expect(stack.supervisor.output()).toContain('Image generation cancelled');
  });
});
