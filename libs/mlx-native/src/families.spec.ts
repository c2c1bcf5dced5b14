import { EMBEDDING_FIXTURE_SPECS, ensureF5Fixtures, ensureFixtures, ensureKokoroFixtures, F5_FIXTURE_SPECS, FIXTURE_SPECS, KOKORO_FIXTURE_SPECS, testHubDir } from '@mlx-omni/model-fixtures';
import { classifyModel, MODEL_FAMILIES, type FamilyDeclaration } from '@mlx-omni/model-families';
import { companionFoldersAt } from '@mlx-omni/model-hub';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WeightsMode } from './io/load-weights';
import { familyLoader, UnsupportedFamilyError, type LoadedModel } from './families';

jest.setTimeout(240_000);

const SPECS = [...FIXTURE_SPECS, ...EMBEDDING_FIXTURE_SPECS];
let dirs: Map<string, string>;

beforeAll(async () => {
  dirs = new Map([...(await ensureFixtures(testHubDir(), SPECS.map((spec) => spec.id))), ...(await ensureKokoroFixtures(testHubDir())), ...(await ensureF5Fixtures(testHubDir()))]);
});

afterEach(async () => {
  // Native arrays are freed by finalizers, which run only when the event loop turns.
  await new Promise(setImmediate);
});

/** The family model-families gives the folder, from its config.json and file list as the hub sees them. */
async function familyOf(dir: string): Promise<string> {
  const files = (await readdir(dir, { recursive: true })).map((path) => path.split('\\').join('/'));
  const text = await readFile(join(dir, 'config.json'), 'utf8').catch(() => undefined);
  const config = text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
  const found = classifyModel({ config, files: new Set(files), weightsComplete: true });
  if (found === undefined || !found.complete) {
    throw new Error(`${dir} is not classified as a complete model`);
  }
  return found.family.id;
}

function residentBytes(model: LoadedModel): number {
  return model.kind === 'chat' ? model.lm.weightBytes : model.weightBytes;
}

describe('familyLoader', () => {
  it('has a loader for every family declared engine: true, and refuses the others', () => {
    for (const family of MODEL_FAMILIES as readonly FamilyDeclaration[]) {
      if (family.engine) {
        expect(() => familyLoader(family.id)).not.toThrow();
      } else {
        expect(() => familyLoader(family.id)).toThrow(UnsupportedFamilyError);
      }
    }
    expect(() => familyLoader('no-such-family')).toThrow(UnsupportedFamilyError);
  });

  it('classifies every fixture into the family of its kind', async () => {
    const families = await Promise.all(EMBEDDING_FIXTURE_SPECS.map(async (spec) => [spec.id, await familyOf(dirs.get(spec.id) as string)]));
    expect(Object.fromEntries(families)).toEqual({
      'mlx-omni-test/tiny-minilm-fp32': 'bert',
      'mlx-omni-test/tiny-minilm-4bit': 'bert',
      'mlx-omni-test/tiny-bge-m3-fp32': 'xlm-roberta',
      'mlx-omni-test/tiny-multilingual-e5-4bit': 'xlm-roberta',
      'mlx-omni-test/tiny-modernbert-embed-fp32': 'modernbert',
      'mlx-omni-test/tiny-modernbert-embed-4bit': 'modernbert',
      'mlx-omni-test/tiny-qwen3-embedding-fp32': 'qwen3-embedding',
      'mlx-omni-test/tiny-qwen3-embedding-4bit': 'qwen3-embedding',
      'mlx-omni-test/tiny-ms-marco-minilm-fp32': 'cross-encoder',
      'mlx-omni-test/tiny-bge-reranker-4bit': 'cross-encoder',
      'mlx-omni-test/tiny-qwen3-reranker-fp32': 'qwen3-reranker',
      'mlx-omni-test/tiny-qwen3-reranker-4bit': 'qwen3-reranker',
    });
  });

  // The pool makes room before loading by this prediction; it must be what the weights then occupy
  // (on the CPU backend a bf16 or 4-bit checkpoint widens to float32, several times its file size).
  it.each<WeightsMode>(['dequantized', 'quantized'])('predicts the bytes the loaded weights occupy (%s)', async (weights) => {
    for (const spec of SPECS) {
      const dir = dirs.get(spec.id) as string;
      const loader = familyLoader(await familyOf(dir));
      const options = { weights };
      const predicted = await loader.weightBytes(dir, options);
      const loaded = await loader.load(dir, options);
      expect([spec.id, predicted]).toEqual([spec.id, residentBytes(loaded)]);
      await new Promise(setImmediate);
    }
  });

  // Text-to-speech models count the arrays their layers hold (convolutions transposed, norms folded at load).
  it.each<WeightsMode>(['dequantized', 'quantized'])('predicts the bytes a loaded speech model occupies (%s)', async (weights) => {
    const specs = [...KOKORO_FIXTURE_SPECS, ...F5_FIXTURE_SPECS];
    expect(await Promise.all(F5_FIXTURE_SPECS.map((spec) => familyOf(dirs.get(spec.id) as string)))).toEqual(['f5-tts', 'f5-tts']);
    for (const spec of specs) {
      const dir = dirs.get(spec.id) as string;
      const loader = familyLoader(await familyOf(dir));
      const options = { weights, companions: await companionFoldersAt(dir, { hubCache: testHubDir() }) };
      const predicted = await loader.weightBytes(dir, options);
      const loaded = await loader.load(dir, options);
      expect([spec.id, predicted]).toEqual([spec.id, loaded.kind === 'text-to-speech' ? loaded.weightBytes : -1]);
      await new Promise(setImmediate);
    }
  });
});
