import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTokens, loadLanguageModel } from '@mlx-omni/mlx-native';
import { ensureFixtures } from './ensure-fixtures';
import { writeLlamaGguf } from './gguf-writer';

// Untied lm_head (output.weight), grouped-query attention, the Llama 2 vocabulary.
const FIXTURE = 'mlx-omni-test/tiny-mistral-fp32';
const PROMPT = [1, 415, 2936, 9060, 285, 1142, 28705, 754];
const COUNT = 12;

/**
 * llama.cpp's greedy tokens for the GGUF, from node-llama-cpp in a child (an ES module, which Jest's
 * CommonJS cannot import). A file, not `-e`: node-llama-cpp forks a test of its binary with our flags.
 */
const LLAMA_CPP = `
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
const [path, prompt, count] = [process.argv[2], JSON.parse(process.argv[3]), Number(process.argv[4])];
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: 1 });
const model = await llama.loadModel({ modelPath: path });
const context = await model.createContext({ contextSize: 256, threads: 1 });
const tokens = [];
for await (const token of context.getSequence().evaluate(prompt, { temperature: 0 })) {
  tokens.push(token);
  if (tokens.length === count) break;
}
console.log(JSON.stringify(tokens));
`;

describe('writeLlamaGguf', () => {
  let hub: string;

  beforeAll(async () => {
    hub = await mkdtemp(join(tmpdir(), 'mlx-omni-gguf-'));
  });

  afterAll(async () => {
    await rm(hub, { recursive: true, force: true });
  });

  it('writes a GGUF that llama.cpp decodes greedily to the same tokens as the engine decodes the checkpoint', async () => {
    const dir = (await ensureFixtures(hub, [FIXTURE])).get(FIXTURE) as string;
    const gguf = join(hub, 'model.gguf');
    writeLlamaGguf(dir, gguf, FIXTURE);

    const { model } = await loadLanguageModel(dir);
    const engine: number[] = [];
    for await (const event of generateTokens(model, PROMPT, { temperature: 0, maxTokens: COUNT })) {
      if (event.type === 'token') {
        engine.push(event.tokenId);
      }
    }
    const script = join(hub, 'greedy.mjs');
    await writeFile(script, LLAMA_CPP.replace("from 'node-llama-cpp'", `from '${require.resolve('node-llama-cpp').replace(/\\/g, '/')}'`));
    const child = spawnSync(process.execPath, [script, gguf, JSON.stringify(PROMPT), String(COUNT)], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout) as number[]).toEqual(engine);
  });
});
