import { core as mx } from '@frost-beta/mlx';
import { ensureFluxFixtures, FIXTURE_ORG, testHubDir } from '@mlx-omni/model-fixtures';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelLoadError } from '../../io/errors';
import type { WeightsMode } from '../../io/load-weights';
import { readSafetensorsHeader } from '../../io/safetensors';
import { PromptTokenizer } from '../../text/prompt-tokenizer';
import { fluxWeightBytes, loadFluxPipeline } from './load';
import type { FluxPipeline } from './pipeline';

jest.setTimeout(300_000);

let dirs: Map<string, string>;
let companions: Record<string, string>;
const dir = (name: string) => dirs.get(`${FIXTURE_ORG}/${name}`)!;

beforeAll(async () => {
  dirs = await ensureFluxFixtures(testHubDir());
  companions = { 'argmaxinc/stable-diffusion': dirs.get('argmaxinc/stable-diffusion')!, 'google/t5-v1_1-xxl': dirs.get('google/t5-v1_1-xxl')! };
});

afterEach(async () => {
  await new Promise(setImmediate);
});

const request = { width: 32, height: 32, steps: 2, guidance: 0, seed: 99 };

async function render(pipeline: FluxPipeline, prompt = 'a cute baby sea otter', overrides: Partial<typeof request> = {}): Promise<Uint8Array> {
  return (await pipeline.generate(await pipeline.encodePrompt(prompt), { ...request, ...overrides })).rgb;
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let mse = 0;
  a.forEach((v, i) => (mse += (v - b[i]) ** 2));
  mse /= a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

describe('the three layouts', () => {
  it('of one set of weights give the same picture: diffusers, an mflux save, DiffusionKit with its companion repos', async () => {
    const diffusers = await render(await loadFluxPipeline(dir('tiny-flux-schnell')));
    const mflux = await render(await loadFluxPipeline(dir('tiny-flux-schnell-mflux')));
    const diffusionKit = await render(await loadFluxPipeline(dir('tiny-mlx-flux-schnell'), { companions }));
    expect(psnr(diffusers, mflux)).toBeGreaterThan(45);
    // DiffusionKit's text encoders come from fp16 files, the others' from bf16.
    expect(psnr(diffusers, diffusionKit)).toBeGreaterThan(30);
  });

  it('tells schnell from dev (guidance embedder) and applies their defaults', async () => {
    const schnell = await loadFluxPipeline(dir('tiny-flux-schnell-mflux-4bit'));
    const dev = await loadFluxPipeline(dir('tiny-flux-dev'));
    expect([schnell.variant, schnell.defaults]).toEqual(['schnell', { steps: 4, guidance: 0 }]);
    expect([dev.variant, dev.defaults]).toEqual(['dev', { steps: 25, guidance: 3.5 }]);
    // dev's guidance embedding changes the picture; schnell has none to change.
    expect(psnr(await render(dev, 'a red sofa', { guidance: 1 }), await render(dev, 'a red sofa', { guidance: 5 }))).toBeLessThan(40);
  });

  it('refuses a DiffusionKit model whose text-encoder repos are not cached, naming what to pull', async () => {
    await expect(loadFluxPipeline(dir('tiny-mlx-flux-schnell'))).rejects.toThrow(ModelLoadError);
    await expect(loadFluxPipeline(dir('tiny-mlx-flux-schnell'))).rejects.toThrow(/argmaxinc\/stable-diffusion/);
  });
});

describe('seeds', () => {
  it("start from mflux's noise: MLX's normal draw keyed by the seed, [1, (H/16)(W/16), 64] in packed order", async () => {
    const pipeline = await loadFluxPipeline(dir('tiny-flux-schnell'));
    const noise = pipeline.initialNoise(5, 64, 32);
    expect(noise.shape).toEqual([1, 8, 64]);
    const drawn = mx.random.normal([1, 8, 64], mx.float32, 0, 1, mx.random.key(5));
    expect(mx.arrayEqual(noise, drawn).item()).toBe(true);
  });

  it('reproduce a picture exactly, and another seed gives another picture', async () => {
    const pipeline = await loadFluxPipeline(dir('tiny-flux-schnell'));
    const first = await render(pipeline, 'mountains covered in snow', { seed: 7 });
    const again = await render(pipeline, 'mountains covered in snow', { seed: 7 });
    const other = await render(pipeline, 'mountains covered in snow', { seed: 8 });
    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
    expect(psnr(first, other)).toBeLessThan(30);
  });

  it('refuse sizes that are not multiples of 16', async () => {
    const pipeline = await loadFluxPipeline(dir('tiny-flux-schnell'));
    expect(pipeline.sizeMultiple).toBe(16);
    await expect(pipeline.generate(await pipeline.encodePrompt('x'), { ...request, width: 40 })).rejects.toThrow(RangeError);
  });
});

/** Float32 bytes of the tensors under the component folders, counted from the headers: what FLUX loads on the CPU. */
async function componentFloat32Bytes(modelDir: string): Promise<number> {
  let total = 0;
  for (const folder of ['transformer', 'vae', 'text_encoder', 'text_encoder_2']) {
    for (const file of (await readdir(join(modelDir, folder))).filter((name) => name.endsWith('.safetensors'))) {
      for (const tensor of await readSafetensorsHeader(join(modelDir, folder, file))) {
        const skipped = tensor.name.startsWith('encoder.conv') || tensor.name === 'encoder.embed_tokens.weight';
        total += skipped ? 0 : tensor.shape.reduce((a, b) => a * b, 1) * 4;
      }
    }
  }
  return total;
}

describe('weightBytes', () => {
  it.each<[string, WeightsMode]>([
    ['tiny-flux-schnell', 'auto'],
    ['tiny-flux-dev', 'auto'],
    ['tiny-flux-schnell-mflux', 'auto'],
    ['tiny-flux-schnell-mflux-4bit', 'dequantized'],
    ['tiny-flux-schnell-mflux-4bit', 'quantized'],
    ['tiny-mlx-flux-schnell', 'auto'],
  ])('predicts what %s occupies once loaded (%s)', async (name, weights) => {
    const options = { weights, companions };
    const predicted = await fluxWeightBytes(dir(name), options);
    const pipeline = await loadFluxPipeline(dir(name), options);
    expect(predicted).toBe(pipeline.weightBytes);
  });

  it("counts the diffusers components only, not the BFL copies beside them nor the VAE's encoder", async () => {
    expect(await fluxWeightBytes(dir('tiny-flux-schnell'))).toBe(await componentFloat32Bytes(dir('tiny-flux-schnell')));
  });

  it('leaves T5 out, and reads it per prompt, when only the rest fits the memory budget', async () => {
    const full = await fluxWeightBytes(dir('tiny-flux-schnell'));
    const resident = await loadFluxPipeline(dir('tiny-flux-schnell'));
    const lean = await loadFluxPipeline(dir('tiny-flux-schnell'), { memoryBudgetBytes: full - 1 });
    expect([resident.t5Residency, lean.t5Residency]).toEqual(['resident', 'per-prompt']);
    expect(lean.weightBytes).toBe(await fluxWeightBytes(dir('tiny-flux-schnell'), { memoryBudgetBytes: full - 1 }));
    expect(lean.weightBytes).toBeLessThan(full);
    expect(Buffer.from(await render(lean)).equals(Buffer.from(await render(resident)))).toBe(true);
  });
});

describe('quantized mflux saves', () => {
  it('generate the same picture kept 4-bit or dequantized at load', async () => {
    const quantized = await render(await loadFluxPipeline(dir('tiny-flux-schnell-mflux-4bit'), { weights: 'quantized' }));
    const dequantized = await render(await loadFluxPipeline(dir('tiny-flux-schnell-mflux-4bit'), { weights: 'dequantized' }));
    expect(psnr(quantized, dequantized)).toBeGreaterThan(40);
  });
});

describe('prompt tokenizers', () => {
  it("CLIP (vocab.json + merges.txt): bos, BPE pieces with </w> word ends, eos, padded with the pad token to 77", async () => {
    const folder = join(dir('tiny-flux-schnell'), 'tokenizer');
    const vocab = JSON.parse(await readFile(join(folder, 'vocab.json'), 'utf8')) as Record<string, number>;
    const clip = await PromptTokenizer.clip(folder, 77);
    const { ids, eosIndex, promptTokens, truncated } = clip.encode('A photo of a CAT!');
    const [bos, eos] = [ids[0], ids[eosIndex]];
    expect(ids).toHaveLength(77);
    expect([bos, eos]).toEqual([vocab['<|startoftext|>'], vocab['<|endoftext|>']]);
    // "photo" and "cat" are corpus words: whole-word pieces; "!" a byte symbol ending its word.
    expect(ids.slice(1, promptTokens - 1)).toEqual(['a</w>', 'photo</w>', 'of</w>', 'a</w>', 'cat</w>', '!</w>'].map((piece) => vocab[piece]));
    expect(ids.slice(promptTokens)).toEqual(Array(77 - promptTokens).fill(eos));
    // Lower-cased, so the same words give the same ids whatever their case.
    expect(clip.encode('a photo of a cat!').ids).toEqual(ids);
    expect(truncated).toBe(false);
    const long = clip.encode('the quick brown fox '.repeat(40));
    expect([long.truncated, long.ids[76], long.eosIndex]).toEqual([true, eos, 76]);
  });

  it('T5 from spiece.model gives the ids tokenizer.json gives, then </s> and <pad> to the length', async () => {
    const folder = join(dir('tiny-flux-schnell'), 'tokenizer_2');
    const fromJson = await PromptTokenizer.t5(folder, 32);
    const fromSpiece = await PromptTokenizer.t5(dirs.get('google/t5-v1_1-xxl')!, 32);
    for (const prompt of ['a photo of a cat', '  An Astronaut riding a horse,  digital art ', 'Ünïcödé ✨ 3 windows']) {
      expect([prompt, fromSpiece.encode(prompt).ids]).toEqual([prompt, fromJson.encode(prompt).ids]);
    }
    const { ids, eosIndex } = fromJson.encode('a photo of a cat');
    expect([ids[eosIndex], ids[eosIndex + 1], ids.length]).toEqual([1, 0, 32]);
  });
});
