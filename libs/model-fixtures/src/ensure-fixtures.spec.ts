import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, readlink, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ensureFixtures, fixtureRevision } from './ensure-fixtures';
import { repoFolderName } from './hub-cache';
import { ALL_FIXTURE_SPECS, FIXTURE_SPECS } from './specs';

jest.setTimeout(60_000);

const MISTRAL = 'mlx-omni-test/tiny-mistral-fp32';
const PHI3 = 'mlx-omni-test/tiny-phi3-fp32';
const SHARDED_4BIT = 'mlx-omni-test/tiny-llama-4bit';

let hub: string;
let dirs: Map<string, string>;

beforeAll(async () => {
  hub = await mkdtemp(join(tmpdir(), 'mlx-omni-hub-'));
  dirs = await ensureFixtures(hub, [MISTRAL, PHI3, SHARDED_4BIT]);
});

afterAll(async () => {
  await rm(hub, { recursive: true, force: true });
});

async function json<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

function safetensorsNames(bytes: Buffer): string[] {
  const length = Number(bytes.readBigUInt64LE(0));
  return Object.keys(JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'))).filter((k) => k !== '__metadata__');
}

describe('FIXTURE_SPECS', () => {
  it('has unique ids under the test org, and covers fp32, bf16, 4-bit and 8-bit for llama and qwen3', () => {
    const ids = ALL_FIXTURE_SPECS.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => id.startsWith('mlx-omni-test/'))).toBe(true);
    for (const family of ['llama', 'qwen3']) {
      for (const variant of ['fp32', 'bf16', '4bit', '8bit']) {
        expect(ids).toContain(`mlx-omni-test/tiny-${family}-${variant}`);
      }
    }
  });

  it('has an unquantized and a quantized fixture for every model_type', () => {
    const types = new Set(FIXTURE_SPECS.map((s) => String(s.config['model_type'])));
    for (const type of types) {
      const ofType = FIXTURE_SPECS.filter((s) => s.config['model_type'] === type || (s.config['model_type'] === 'gemma3' && type === 'gemma3_text'));
      expect(ofType.some((s) => s.quantization)).toBe(true);
    }
    // Float32, except gpt-oss: its 201k-row untied tables are stored in bf16 (as mlx-community's gpt-oss-20b-bf16 is).
    for (const type of [...types].filter((t) => t !== 'gemma3')) {
      const dtype = type === 'gpt_oss' ? 'bfloat16' : 'float32';
      expect([type, FIXTURE_SPECS.some((s) => s.config['model_type'] === type && s.dtype === dtype && !s.quantization)]).toEqual([type, true]);
    }
  });
});

describe('ensureFixtures', () => {
  it('writes the Hugging Face cache layout: refs/main, snapshots/<revision>, files linked to blobs', async () => {
    const dir = dirs.get(MISTRAL) as string;
    const repo = join(hub, repoFolderName(MISTRAL));
    expect(repo).toBe(join(hub, 'models--mlx-omni-test--tiny-mistral-fp32'));
    const revision = basename(dir);
    expect(revision).toMatch(/^[0-9a-f]{40}$/);
    expect(dirname(dir)).toBe(join(repo, 'snapshots'));
    expect(await readFile(join(repo, 'refs', 'main'), 'utf8')).toBe(revision);
    expect((await readdir(dir)).sort()).toEqual(
      ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'].sort(),
    );
    // Weights are LFS files: their blob is named by the sha256 of the content.
    const link = join(dir, 'model.safetensors');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    const target = resolve(dir, await readlink(link));
    expect(dirname(target)).toBe(join(repo, 'blobs'));
    expect(basename(target)).toBe(createHash('sha256').update(await readFile(link)).digest('hex'));
  });

  it('is idempotent: a second call rewrites nothing and returns the same directories', async () => {
    const weights = join(dirs.get(MISTRAL) as string, 'model.safetensors');
    const before = (await stat(weights)).mtimeMs;
    const again = await ensureFixtures(hub, [MISTRAL]);
    expect(again.get(MISTRAL)).toBe(dirs.get(MISTRAL));
    expect((await stat(weights)).mtimeMs).toBe(before);
  });

  it('is deterministic: the same spec gives the same revision and the same bytes', async () => {
    const other = await mkdtemp(join(tmpdir(), 'mlx-omni-hub-'));
    try {
      const copy = (await ensureFixtures(other, [MISTRAL])).get(MISTRAL) as string;
      expect(basename(copy)).toBe(fixtureRevision(FIXTURE_SPECS.find((s) => s.id === MISTRAL)!));
      const digest = async (d: string) => createHash('sha256').update(await readFile(join(d, 'model.safetensors'))).digest('hex');
      expect(await digest(copy)).toBe(await digest(dirs.get(MISTRAL) as string));
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('shards with an index whose weight map matches the shards, quantized modules included', async () => {
    const dir = dirs.get(SHARDED_4BIT) as string;
    const index = await json<{ weight_map: Record<string, string> }>(join(dir, 'model.safetensors.index.json'));
    const shards = [...new Set(Object.values(index.weight_map))].sort();
    expect(shards).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
    const stored = new Map<string, string>();
    for (const shard of shards) {
      for (const name of safetensorsNames(await readFile(join(dir, shard)))) {
        stored.set(name, shard);
      }
    }
    expect(Object.fromEntries(stored)).toEqual(index.weight_map);
    expect(index.weight_map['model.embed_tokens.scales']).toBeDefined();
    // Some quantized module has its parts in two shards, so the loader's waiting path is exercised.
    const shardsOf = new Map<string, Set<string>>();
    for (const [name, shard] of Object.entries(index.weight_map)) {
      const module = name.replace(/\.(weight|scales|biases)$/, '');
      shardsOf.set(module, (shardsOf.get(module) ?? new Set()).add(shard));
    }
    expect([...shardsOf.values()].some((set) => set.size > 1)).toBe(true);
    const config = await json<Record<string, unknown>>(join(dir, 'config.json'));
    expect(config['quantization']).toEqual({ group_size: 32, bits: 4 });
  });

  it('ships a tokenizer that loads and covers no more ids than the model has', async () => {
    for (const id of [MISTRAL, PHI3]) {
      const dir = dirs.get(id) as string;
      const tokenizer = new Tokenizer(await json(join(dir, 'tokenizer.json')), await json(join(dir, 'tokenizer_config.json')));
      const config = await json<{ vocab_size: number }>(join(dir, 'config.json'));
      const ids = tokenizer.encode('Hello world <|user|>').ids;
      expect(Math.max(...ids)).toBeLessThan(config.vocab_size);
    }
  });

  it('writes chat templates of the right format for the families whose tokenizer package has none', async () => {
    const render = async (id: string) => {
      const config = await json<{ chat_template: string; bos_token: string; eos_token: string }>(join(dirs.get(id) as string, 'tokenizer_config.json'));
      return new Template(config.chat_template).render({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
          { role: 'user', content: 'Bye' },
        ],
        bos_token: config.bos_token,
        eos_token: config.eos_token,
        add_generation_prompt: true,
      });
    };
    expect(await render(MISTRAL)).toBe('<s>[INST] Be brief.\n\nHi[/INST] Hello</s>[INST] Bye[/INST]');
    expect(await render(PHI3)).toBe('<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n');
  });

  it('rejects an unknown fixture id, listing the known ones', async () => {
    await expect(ensureFixtures(hub, ['mlx-omni-test/nope'])).rejects.toThrow(/Unknown fixture "mlx-omni-test\/nope"; known fixtures: mlx-omni-test\/tiny-llama-fp32/);
  });
});
