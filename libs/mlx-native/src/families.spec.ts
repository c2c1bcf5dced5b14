import { ensureFixtures, FIXTURE_SPECS, testHubDir } from '@mlx-omni/model-fixtures';
import { MODEL_FAMILIES, type FamilyDeclaration } from '@mlx-omni/model-families';
import type { WeightsMode } from './io/load-weights';
import { familyLoader, UnsupportedFamilyError } from './families';

jest.setTimeout(120_000);

let dirs: Map<string, string>;

beforeAll(async () => {
  dirs = await ensureFixtures(testHubDir());
});

afterEach(async () => {
  // Native arrays are freed by finalizers, which run only when the event loop turns.
  await new Promise(setImmediate);
});

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

  // The pool makes room before loading by this prediction; it must be what the weights then occupy
  // (on the CPU backend a bf16 or 4-bit checkpoint widens to float32, several times its file size).
  it.each<WeightsMode>(['dequantized', 'quantized'])('predicts the bytes the loaded weights occupy (%s)', async (weights) => {
    for (const spec of FIXTURE_SPECS) {
      const dir = dirs.get(spec.id) as string;
      const loader = familyLoader(String(spec.config['model_type']));
      const options = { weights, hubCache: testHubDir() };
      const predicted = await loader.weightBytes(dir, options);
      const loaded = await loader.load(dir, options);
      expect([spec.id, predicted]).toEqual([spec.id, loaded.kind === 'chat' ? loaded.lm.weightBytes : loaded.weightBytes]);
      await new Promise(setImmediate);
    }
  });
});
