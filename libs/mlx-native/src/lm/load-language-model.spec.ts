import { core as mx } from '@frost-beta/mlx';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { cp, mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CorruptSafetensorsError,
  InvalidModelConfigError,
  MissingTensorError,
  ModelFileMissingError,
  ModelLoadError,
  TensorShapeMismatchError,
  UnsupportedModelTypeError,
} from '../io/errors';
import { loadLanguageModel } from './load-language-model';

jest.setTimeout(60_000);

const SMALL = 'mlx-omni-test/tiny-mistral-fp32';
const SHARDED = 'mlx-omni-test/tiny-llama-fp32';
const QUANTIZED = 'mlx-omni-test/tiny-phi3-4bit';

let fixtures: Map<string, string>;
let scratch: string;

beforeAll(async () => {
  fixtures = await ensureFixtures(testHubDir(), [SMALL, SHARDED, QUANTIZED, 'mlx-omni-test/tiny-qwen3-fp32']);
  scratch = await mkdtemp(join(tmpdir(), 'mlx-omni-load-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  await new Promise(setImmediate);
});

let copies = 0;
/** A writable copy of a fixture snapshot (the cache's symlinks resolved to real files). */
async function copyOf(id: string): Promise<string> {
  const dir = join(scratch, `model-${copies++}`);
  await cp(fixtures.get(id) as string, dir, { recursive: true, dereference: true });
  return dir;
}

async function editConfig(dir: string, edit: (config: Record<string, unknown>) => void): Promise<void> {
  const path = join(dir, 'config.json');
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  edit(config);
  await writeFile(path, JSON.stringify(config));
}

describe('loadLanguageModel', () => {
  it('returns the parsed configs and merges eos ids from config.json and generation_config.json', async () => {
    const loaded = await loadLanguageModel(fixtures.get('mlx-omni-test/tiny-qwen3-fp32') as string);
    expect(loaded.config['model_type']).toBe('qwen3');
    expect(loaded.generationConfig?.['top_k']).toBe(20);
    // config.json says 151645, generation_config.json [151645, 151643].
    expect(loaded.eosTokenIds).toEqual([151645, 151643]);
    expect(loaded.model.modelType).toBe('qwen3');
    expect(loaded.model.vocabSize).toBe(151936);
    expect(loaded.model.contextLength).toBe(40960);
    expect(loaded.quantizedWeights).toBe('none');
  });

  it('loads a sharded checkpoint through model.safetensors.index.json', async () => {
    const loaded = await loadLanguageModel(fixtures.get(SHARDED) as string);
    expect(loaded.model.forward(mx.array([[1, 2, 3]], mx.int32)).shape).toEqual([1, 3, 128256]);
  });

  it('reads the quantization block, and auto dequantizes on the CPU backend only', async () => {
    const loaded = await loadLanguageModel(fixtures.get(QUANTIZED) as string);
    expect(loaded.quantization).toMatchObject({ groupSize: 64, bits: 4 });
    expect(loaded.quantizedWeights).toBe(mx.metal.isAvailable() ? 'kept' : 'dequantized');
  });

  describe('fails with an error that says what to fix', () => {
    it('when config.json is missing', async () => {
      const dir = await copyOf(SMALL);
      await unlink(join(dir, 'config.json'));
      const error = loadLanguageModel(dir);
      await expect(error).rejects.toThrow(ModelFileMissingError);
      await expect(error).rejects.toThrow(join(dir, 'config.json'));
    });

    it('when config.json is not JSON', async () => {
      const dir = await copyOf(SMALL);
      await writeFile(join(dir, 'config.json'), '{"model_type": ');
      await expect(loadLanguageModel(dir)).rejects.toThrow(InvalidModelConfigError);
    });

    it('when the weights are missing', async () => {
      const dir = await copyOf(SMALL);
      await unlink(join(dir, 'model.safetensors'));
      const error = loadLanguageModel(dir);
      await expect(error).rejects.toThrow(ModelFileMissingError);
      await expect(error).rejects.toThrow('model.safetensors');
    });

    it('when a shard listed in the index is missing', async () => {
      const dir = await copyOf(SHARDED);
      await unlink(join(dir, 'model-00002-of-00002.safetensors'));
      await expect(loadLanguageModel(dir)).rejects.toThrow(/model-00002-of-00002\.safetensors.*listed in .*model\.safetensors\.index\.json/);
    });

    it('when the model_type is not supported, listing the supported ones', async () => {
      const dir = await copyOf(SMALL);
      await editConfig(dir, (c) => (c['model_type'] = 'gpt_bigcode'));
      const error = loadLanguageModel(dir);
      await expect(error).rejects.toThrow(UnsupportedModelTypeError);
      await expect(error).rejects.toThrow(
        'Unsupported model_type "gpt_bigcode"; supported model types: llama, mistral, qwen2, qwen3, qwen3_moe, gemma3_text, gemma3, phi3',
      );
    });

    it('when a tensor does not have the shape config.json implies, naming it and both shapes', async () => {
      const dir = await copyOf(SMALL);
      await editConfig(dir, (c) => (c['intermediate_size'] = 96));
      const error = loadLanguageModel(dir);
      await expect(error).rejects.toThrow(TensorShapeMismatchError);
      await expect(error).rejects.toThrow('Tensor "model.layers.0.mlp.gate_proj.weight" has shape [128, 64] but config.json implies [96, 64]');
    });

    it('when a quantized tensor does not match the quantization block', async () => {
      const dir = await copyOf(QUANTIZED);
      await editConfig(dir, (c) => {
        c['quantization'] = { group_size: 32, bits: 4 };
        delete c['quantization_config'];
      });
      await expect(loadLanguageModel(dir)).rejects.toThrow(/\.scales" has shape \[\d+, 4\] but config.json implies \[\d+, 8\]/);
    });

    it('when a tensor is missing, naming it', async () => {
      const dir = await copyOf(SMALL);
      const file = join(dir, 'model.safetensors');
      const tensors = mx.load(file) as unknown as Record<string, mx.array>;
      delete tensors['model.norm.weight'];
      mx.saveSafetensors(file, tensors, { format: 'mlx' });
      const error = loadLanguageModel(dir);
      await expect(error).rejects.toThrow(MissingTensorError);
      await expect(error).rejects.toThrow('"model.norm.weight"');
    });

    it('when a safetensors file is truncated (without crashing the process)', async () => {
      const dir = await copyOf(SMALL);
      const file = join(dir, 'model.safetensors');
      await truncate(file, 1_000_000);
      const error = loadLanguageModel(dir);
      await expect(error).rejects.toThrow(CorruptSafetensorsError);
      await expect(error).rejects.toThrow(/truncated/);
    });

    it('when a safetensors header is garbage', async () => {
      const dir = await copyOf(SMALL);
      await writeFile(join(dir, 'model.safetensors'), Buffer.concat([Buffer.from([16, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('not json at all!')]));
      await expect(loadLanguageModel(dir)).rejects.toThrow(/Corrupt safetensors file .*header is not valid JSON/);
    });

    it('when a safetensors length prefix is absurd', async () => {
      const dir = await copyOf(SMALL);
      await writeFile(join(dir, 'model.safetensors'), Buffer.from('garbage garbage garbage'));
      await expect(loadLanguageModel(dir)).rejects.toThrow(CorruptSafetensorsError);
    });

    it('when rope_scaling names a type the engine does not implement', async () => {
      const dir = await copyOf(SMALL);
      await editConfig(dir, (c) => (c['rope_scaling'] = { rope_type: 'longrope', factor: 4 }));
      await expect(loadLanguageModel(dir)).rejects.toThrow('rope_scaling type "longrope" is not supported (supported: default, linear, dynamic, llama3, yarn)');
    });

    it('when packed tensors come without a quantization block', async () => {
      const dir = await copyOf(QUANTIZED);
      await editConfig(dir, (c) => {
        delete c['quantization'];
        delete c['quantization_config'];
      });
      const error = loadLanguageModel(dir);
      await expect(error).rejects.toThrow(ModelLoadError);
      await expect(error).rejects.toThrow(/no "quantization" block/);
    });
  });
});
