/**
 * One stream's decode against llama.cpp on the same weights, single-threaded:
 *   node dist/scripts/bench-llama.js [--size 256m|100m] [--tokens 64] [--rounds 3]
 * Writes the bench fixture as GGUF F32 (once), then greedy-decodes the same prompt ids with
 * node-llama-cpp (threads: 1) and with the engine (generateTokens, OPENBLAS_NUM_THREADS=1, with and
 * without the BLAS shim preloaded, as the workers run), each in its own child process, the three
 * taking turns for a few rounds so that load from other processes hits them alike. Prints the
 * median decode tokens/s, the engine's ratio to llama.cpp (target ≥ 0.6x) and whether the first 16
 * greedy tokens agree (same weights, so they should; float32 sums in another order may part late).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureBlasShim } from '@mlx-omni/mlx-native/blas-shim';
import { BENCH_256M_FIXTURE_SPEC, BENCH_FIXTURE_SPEC, ensureFixtures, writeLlamaGguf } from '@mlx-omni/model-fixtures';
import type { Token } from 'node-llama-cpp';

const COMPARED_TOKENS = 16;
type Runner = 'engine' | 'llama';

interface Run {
  tokens: number[];
  tokensPerSecond: number;
}

function argValue(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

/** The same ids for both: a prompt that needs no tokenizer to agree. */
const promptIds = (vocab: number) => Array.from({ length: 16 }, (_, i) => 3 + ((i * 7919 + 13) % (vocab - 3)));

async function runEngine(dir: string, count: number): Promise<Run> {
  const { generateTokens, loadLanguageModel } = await import('@mlx-omni/mlx-native');
  const { model } = await loadLanguageModel(dir);
  const tokens: number[] = [];
  let tokensPerSecond = 0;
  for await (const event of generateTokens(model, promptIds(model.vocabSize), { temperature: 0, maxTokens: count })) {
    if (event.type === 'token') {
      tokens.push(event.tokenId);
    } else {
      tokensPerSecond = event.timings.generationTokensPerSecond;
    }
  }
  return { tokens, tokensPerSecond };
}

async function runLlama(ggufPath: string, count: number, vocab: number): Promise<Run> {
  // node-llama-cpp is an ES module; a real import(), which this CommonJS build would turn into require().
  const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<typeof import('node-llama-cpp')>;
  const { getLlama, LlamaLogLevel } = await importModule('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.warn, maxThreads: 1 });
  const model = await llama.loadModel({ modelPath: ggufPath });
  const context = await model.createContext({ contextSize: 1024, threads: 1 });
  const tokens: number[] = [];
  let firstAt = 0;
  for await (const token of context.getSequence().evaluate(promptIds(vocab) as Token[], { temperature: 0 })) {
    // As generateTokens reports it: tokens after the first, per second since the first.
    if (tokens.length === 0) {
      firstAt = performance.now();
    }
    tokens.push(token as number);
    if (tokens.length === count) {
      break;
    }
  }
  const tokensPerSecond = (tokens.length - 1) / ((performance.now() - firstAt) / 1000);
  await context.dispose();
  await model.dispose();
  return { tokens, tokensPerSecond };
}

function child(runner: Runner, preload: string | undefined): Run {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', LD_PRELOAD: preload };
  const args = ['--expose-gc', __filename, '--child', runner, ...process.argv.slice(2)];
  const run = spawnSync(process.execPath, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) {
    throw new Error(`the ${runner} run failed (exit ${run.status})`);
  }
  return JSON.parse(run.stdout.trim().split('\n').slice(-1)[0]) as Run;
}

const agreement = (a: number[], b: number[]) => {
  const shown = a.slice(0, COMPARED_TOKENS);
  const firstDifference = shown.findIndex((token, i) => token !== b[i]);
  return firstDifference < 0 ? `all ${shown.length} agree` : `agree up to token ${firstDifference} (of ${shown.length})`;
};

async function main(): Promise<void> {
  const spec = argValue('size', '256m') === '100m' ? BENCH_FIXTURE_SPEC : BENCH_256M_FIXTURE_SPEC;
  const count = Number(argValue('tokens', '64'));
  // Where `npm run fixtures -- --bench` writes (see libs/model-fixtures/src/cli.ts).
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  const dir = (await ensureFixtures(hub, [spec.id])).get(spec.id) as string;
  const ggufDir = resolve('.fixtures', 'gguf');
  const gguf = join(ggufDir, `${spec.id.split('/')[1]}-f32.gguf`);
  const at = process.argv.indexOf('--child');
  if (at >= 0) {
    const runner = process.argv[at + 1] as Runner;
    const run = runner === 'engine' ? await runEngine(dir, count) : await runLlama(gguf, count, spec.config['vocab_size'] as number);
    console.log(JSON.stringify(run));
    return;
  }
  if (!existsSync(gguf) || statSync(gguf).mtimeMs < statSync(join(dir, 'config.json')).mtimeMs) {
    mkdirSync(ggufDir, { recursive: true });
    writeLlamaGguf(dir, gguf, spec.id);
  }
  const shim = ensureBlasShim();
  const rounds = Number(argValue('rounds', '3'));
  const runs: Record<'llama' | 'engine' | 'plain', Run[]> = { llama: [], engine: [], plain: [] };
  for (let round = 0; round < rounds; round++) {
    runs.llama.push(child('llama', undefined));
    if (shim !== undefined) {
      runs.engine.push(child('engine', shim));
    }
    runs.plain.push(child('engine', undefined));
  }
  const median = (of: Run[]): Run | undefined => [...of].sort((a, b) => a.tokensPerSecond - b.tokensPerSecond)[Math.floor(of.length / 2)];
  const llama = median(runs.llama) as Run;
  const engine = median(runs.engine);
  const plain = median(runs.plain) as Run;
  console.log(`${spec.id}, float32, ${count} greedy tokens after a 16-token prompt, one thread each, median of ${rounds} rounds`);
  const line = (name: string, run: Run) =>
    console.log(`${name.padEnd(26)} ${run.tokensPerSecond.toFixed(1).padStart(6)} tokens/s  ${(run.tokensPerSecond / llama.tokensPerSecond).toFixed(2)}x llama.cpp  first ${COMPARED_TOKENS} tokens: ${agreement(run.tokens, llama.tokens)}`);
  console.log(`${'llama.cpp (node-llama-cpp)'.padEnd(26)} ${llama.tokensPerSecond.toFixed(1).padStart(6)} tokens/s`);
  if (engine === undefined) {
    console.log('engine with the BLAS shim: not built (not Linux or no C compiler)');
  } else {
    line('engine, BLAS shim', engine);
  }
  line('engine, plain BLAS', plain);
  console.log(`target: engine ≥ 0.6x llama.cpp → ${engine !== undefined && engine.tokensPerSecond >= 0.6 * llama.tokensPerSecond ? 'met' : 'not met'}`);
  console.log(`llama.cpp's first ${COMPARED_TOKENS}: ${llama.tokens.slice(0, COMPARED_TOKENS).join(' ')}`);
  console.log(`engine's first ${COMPARED_TOKENS}:    ${(engine ?? plain).tokens.slice(0, COMPARED_TOKENS).join(' ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
