import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveModel } from './hub-cache';
import { pullModel } from './pull';
import { HubServer } from './testing/hub-server';
import { commitOf, makeTempDir, MODEL_FILES, weights } from './testing/hub-tree';

const WHISPER = 'mlx-community/whisper-tiny-mlx';
const TOKENIZER_REPO = 'openai/whisper-large-v2';
const OPENAI_FILES = {
  'config.json': '{"model_type": "whisper"}',
  'model.safetensors': 'pytorch weights the engine never reads',
  'tokenizer.json': '{"model": {}}',
  'tokenizer_config.json': '{}',
  'special_tokens_map.json': '{}',
  'vocab.json': '{}',
};

const DIFFUSION_KIT = { 'flux-schnell.safetensors': weights(900), 'ae.safetensors': weights(300), 'README.md': '# DiffusionKit' };
const STABLE_DIFFUSION = {
  'clip_l/config.json': '{}',
  'clip_l/model.fp16.safetensors': weights(80),
  'clip_g/model.fp16.safetensors': weights(4000),
  'tokenizer_l/vocab.json': '{}',
  'tokenizer_l/merges.txt': '#version: 0.2',
  't5/t5xxl.safetensors': weights(120),
  'sd3_medium.safetensors': weights(6000),
};
const T5 = { 'config.json': '{"model_type": "t5"}', 'spiece.model': weights(30), 'pytorch_model.bin': weights(9000), 'tokenizer_config.json': '{}' };
/** lucasnewman/f5-tts-mlx: no config.json, the DiT and its conversions, the duration model, the vocabulary. */
const F5 = 'lucasnewman/f5-tts-mlx';
const F5_FILES = {
  'model_v1.safetensors': weights(600),
  'model_v1_4b.safetensors': weights(100),
  'duration_v2.safetensors': weights(50),
  'vocab.txt': ' \n!\na\n',
  'README.md': '# F5 TTS',
};
const VOCOS = 'lucasnewman/vocos-mel-24khz';
const VOCOS_FILES = { 'config.yaml': 'feature_extractor: {}\n', 'model.safetensors': weights(80), 'pytorch_model.bin': weights(80), 'README.md': '# Vocos' };

let hub: HubServer;
let cache: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: cache, cleanup } = await makeTempDir());
  hub = await HubServer.start([
    { repoId: WHISPER, commit: commitOf('whisper'), files: MODEL_FILES['speech-to-text'] },
    { repoId: TOKENIZER_REPO, commit: commitOf('openai'), files: OPENAI_FILES },
    { repoId: 'org/chat', commit: commitOf('chat'), files: MODEL_FILES.chat },
    { repoId: 'argmaxinc/mlx-FLUX.1-schnell', commit: commitOf('dk'), files: DIFFUSION_KIT },
    { repoId: 'argmaxinc/stable-diffusion', commit: commitOf('sd'), files: STABLE_DIFFUSION },
    { repoId: 'google/t5-v1_1-xxl', commit: commitOf('t5'), files: T5 },
    { repoId: F5, commit: commitOf('f5'), files: F5_FILES },
    { repoId: VOCOS, commit: commitOf('vocos'), files: VOCOS_FILES },
  ]);
});
afterEach(async () => {
  await hub.close();
  await cleanup();
});

describe('pullModel', () => {
  it("pulls a Whisper conversion and only the tokenizer files of the openai repo its vocabulary size names", async () => {
    const pulled = await pullModel(WHISPER, 'main', { hubCache: cache, endpoint: hub.url });
    expect(pulled.companions.map((companion) => companion.repoId)).toEqual([TOKENIZER_REPO]);
    const snapshot = join(cache, 'models--openai--whisper-large-v2', 'snapshots', commitOf('openai'));
    expect((await readdir(snapshot)).sort()).toEqual(['special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(await readFile(join(snapshot, 'tokenizer.json'), 'utf8')).toBe(OPENAI_FILES['tokenizer.json']);
    expect(await readFile(join(cache, 'models--openai--whisper-large-v2', 'refs', 'main'), 'utf8')).toBe(commitOf('openai'));
  });

  it('lists a companion that is not cached as such', async () => {
    await pullModel(F5, 'main', { hubCache: cache, endpoint: hub.url });
    await rm(join(cache, 'models--lucasnewman--vocos-mel-24khz'), { recursive: true });
    expect((await resolveModel(F5, { hubCache: cache }))?.companions.map((c) => [c.repo, c.path])).toEqual([[VOCOS, undefined]]);
  });

  it('pulls nothing else for a model that needs nothing from another repo', async () => {
    const pulled = await pullModel('org/chat', 'main', { hubCache: cache, endpoint: hub.url });
    expect(pulled.companions).toEqual([]);
    expect(await readdir(cache)).toEqual(['models--org--chat']);
  });

  it("pulls DiffusionKit's text-encoder repos too, only the files it reads, and the listing says where they are", async () => {
    const result = await pullModel('argmaxinc/mlx-FLUX.1-schnell', 'main', { hubCache: cache, endpoint: hub.url });
    expect(result.companions.map((c) => [c.repoId, c.files])).toEqual([
      ['argmaxinc/stable-diffusion', 5],
      ['google/t5-v1_1-xxl', 3],
    ]);
    const [sd, google] = result.companions;
    expect((await readdir(sd.path, { recursive: true })).filter((p) => p.includes('.')).sort()).toEqual(['clip_l/config.json', 'clip_l/model.fp16.safetensors', 't5/t5xxl.safetensors', 'tokenizer_l/merges.txt', 'tokenizer_l/vocab.json']);
    expect((await readdir(google.path)).sort()).toEqual(['config.json', 'spiece.model', 'tokenizer_config.json']);
    const model = await resolveModel('argmaxinc/mlx-FLUX.1-schnell', { hubCache: cache });
    expect(model).toMatchObject({ kind: 'image', family: 'flux', supported: true });
    expect(model?.companions.map((c) => [c.repo, c.path])).toEqual([
      ['argmaxinc/stable-diffusion', sd.path],
      ['google/t5-v1_1-xxl', google.path],
    ]);
  });

  it('pulls F5-TTS and the two files of the Vocos repo it speaks through, and lists it as a supported model', async () => {
    const pulled = await pullModel(F5, 'main', { hubCache: cache, endpoint: hub.url });
    expect(pulled.companions.map((companion) => companion.repoId)).toEqual([VOCOS]);
    const snapshot = join(cache, 'models--lucasnewman--vocos-mel-24khz', 'snapshots', commitOf('vocos'));
    expect((await readdir(snapshot)).sort()).toEqual(['config.yaml', 'model.safetensors']);
    const model = await resolveModel(F5, { hubCache: cache });
    expect(model).toMatchObject({ kind: 'text-to-speech', family: 'f5-tts', supported: true });
    expect(model?.companions).toEqual([{ repo: VOCOS, files: ['config.yaml', 'model.safetensors'], provides: 'the Vocos vocoder', path: snapshot }]);
  });
});
