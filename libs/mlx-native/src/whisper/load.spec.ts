import { core as mx } from '@frost-beta/mlx';
import { ensureWhisperFixtures, saveNpz, testHubDir, WHISPER_FIXTURE_SPECS } from '@mlx-omni/model-fixtures';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { companionFoldersAt } from '@mlx-omni/model-hub';
import { familyLoader } from '../families';
import { ModelIncompleteError } from '../io/errors';
import type { WeightsMode } from '../io/load-weights';
import { npzToSafetensors, readNpzHeader } from '../io/npz';
import { WhisperTokenizer } from './tokenizer';
import { whisperTokenizerDir } from './tokenizer-source';

jest.setTimeout(300_000);

let dirs: Map<string, string>;
let scratch: string;

beforeAll(async () => {
  dirs = await ensureWhisperFixtures(testHubDir());
  scratch = await mkdtemp(join(tmpdir(), 'whisper-load-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  await new Promise(setImmediate);
});

describe('whisper family loader', () => {
  // The pool makes room by this prediction before loading; it must be what the weights then occupy.
  it.each<WeightsMode>(['dequantized', 'quantized'])('predicts the bytes the loaded weights occupy (%s)', async (weights) => {
    for (const spec of WHISPER_FIXTURE_SPECS) {
      const dir = dirs.get(spec.id)!;
      const options = { weights, companions: await companionFoldersAt(dir, { hubCache: testHubDir() }) };
      const loader = familyLoader('whisper');
      const predicted = await loader.weightBytes(dir, options);
      const loaded = await loader.load(dir, options);
      expect(loaded.kind).toBe('speech-to-text');
      expect([spec.id, predicted]).toEqual([spec.id, loaded.kind === 'speech-to-text' ? loaded.weightBytes : -1]);
    }
  });
});

describe('tokenizer resolution', () => {
  const config = { n_vocab: 51865 };

  it('takes a tokenizer.json in the model folder first, then the cached openai/whisper-* repo', async () => {
    const folder = join(scratch, 'with-tokenizer');
    await mkdir(folder, { recursive: true });
    const model = dirs.get(WHISPER_FIXTURE_SPECS[0].id)!;
    const cached = await whisperTokenizerDir(model, config, { companions: await companionFoldersAt(model, { hubCache: testHubDir() }) });
    expect(cached).toContain('models--openai--whisper-large-v2');
    await cp(join(cached, 'tokenizer.json'), join(folder, 'tokenizer.json'));
    expect(await whisperTokenizerDir(folder, config, { companions: await companionFoldersAt(model, { hubCache: testHubDir() }) })).toBe(folder);
  });

  it('names the repo to pull when the tokenizer is nowhere', async () => {
    const folder = join(scratch, 'bare');
    await mkdir(folder, { recursive: true });
    const missing = whisperTokenizerDir(folder, { n_vocab: 51864 }, {});
    await expect(missing).rejects.toBeInstanceOf(ModelIncompleteError);
    await expect(missing).rejects.toThrow(/takes the tokenizer from openai\/whisper-medium\.en/);
    await expect(whisperTokenizerDir(folder, { n_vocab: 1234 }, {})).rejects.toThrow(/matches no openai\/whisper-\* tokenizer/);
  });

  it('refuses a tokenizer whose special tokens sit elsewhere than the vocabulary size implies', async () => {
    const model = dirs.get(WHISPER_FIXTURE_SPECS[0].id)!;
    const dir = await whisperTokenizerDir(model, config, { companions: await companionFoldersAt(model, { hubCache: testHubDir() }) });
    await expect(WhisperTokenizer.load(dir, 51866)).rejects.toThrow('<|translate|> is 50358, the model expects 50359');
    await expect(WhisperTokenizer.load(dir, 51864)).rejects.toThrow('<|endoftext|> is 50257, the model expects 50256');
    const tokenizer = await WhisperTokenizer.load(dir, 51865);
    expect(tokenizer.decode(tokenizer.encode(' hello world'))).toBe(' hello world');
    expect(tokenizer.nonSpeechTokens).toContain(tokenizer.encode(' -')[0]);
    expect(tokenizer.splitToWordTokens([...tokenizer.encode(' hello world.'), tokenizer.special.eot], 'en').words).toEqual([' hello', ' world', '.', '<|endoftext|>']);
  });
});

describe('.npz weights', () => {
  const arrays = () => ({
    'a.weight': mx.arange(0, 12, 1, mx.float32).reshape(3, 4),
    'a.bias': mx.array([1.5, -2.5, 3], mx.float16),
    'q.weight': mx.array([[0xffffffff - 1, 7]], mx.uint32),
  });

  it('reads numpy savez archives (MLX .npy members) as the same arrays', async () => {
    const npz = join(scratch, 'weights.npz');
    // uint32 above 2^31 cannot be built from JS numbers in this binding; bitwise ops make one.
    const source = { ...arrays(), 'q.weight': mx.bitwiseOr(mx.array([[0, 7]], mx.uint32), mx.leftShift(mx.array([[65535, 0]], mx.uint32), mx.array(16, mx.uint32))) };
    await saveNpz(npz, source);
    expect((await readNpzHeader(npz)).map(({ name, dtype, shape }) => ({ name, dtype, shape }))).toEqual([
      { name: 'a.weight', dtype: 'F32', shape: [3, 4] },
      { name: 'a.bias', dtype: 'F16', shape: [3] },
      { name: 'q.weight', dtype: 'U32', shape: [1, 2] },
    ]);
    const converted = join(scratch, 'converted.safetensors');
    await npzToSafetensors(npz, converted);
    const loaded = mx.load(converted) as unknown as Record<string, mx.array>;
    for (const [name, array] of Object.entries(source)) {
      expect([name, mx.arrayEqual(loaded[name], array).item()]).toEqual([name, true]);
    }
  });

  it('inflates members savez_compressed deflated, and refuses damaged archives', async () => {
    const path = join(scratch, 'compressed.npz');
    await saveNpz(path, { x: mx.arange(0, 6, 1, mx.float32) }, { compressed: true });
    const zipped = await readFile(path);
    await npzToSafetensors(path, join(scratch, 'compressed.safetensors'));
    const loaded = mx.load(join(scratch, 'compressed.safetensors')) as unknown as Record<string, mx.array>;
    expect(loaded['x'].tolist()).toEqual([0, 1, 2, 3, 4, 5]);
    await writeFile(join(scratch, 'broken.npz'), zipped.subarray(0, zipped.length - 30));
    await expect(readNpzHeader(join(scratch, 'broken.npz'))).rejects.toThrow(/Corrupt \.npz/);
  });
});
