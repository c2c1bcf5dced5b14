import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pullModel } from './pull';
import { HubServer } from './testing/hub-server';
import { commitOf, makeTempDir, MODEL_FILES } from './testing/hub-tree';

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

let hub: HubServer;
let cache: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: cache, cleanup } = await makeTempDir());
  hub = await HubServer.start([
    { repoId: WHISPER, commit: commitOf('whisper'), files: MODEL_FILES['speech-to-text'] },
    { repoId: TOKENIZER_REPO, commit: commitOf('openai'), files: OPENAI_FILES },
    { repoId: 'org/chat', commit: commitOf('chat'), files: MODEL_FILES.chat },
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

  it('pulls nothing else for a model that needs nothing from another repo', async () => {
    const pulled = await pullModel('org/chat', 'main', { hubCache: cache, endpoint: hub.url });
    expect(pulled.companions).toEqual([]);
    expect(await readdir(cache)).toEqual(['models--org--chat']);
  });
});
