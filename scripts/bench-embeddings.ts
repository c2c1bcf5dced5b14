/**
 * Embedding benchmark on the ~110M-parameter BERT-base fixture (float32):
 *   npm run bench:embeddings [-- --tokens 32 --seconds 5]
 * For batches of 1, 8 and 64 inputs of about `--tokens` tokens each, prints inputs/s and tokens/s
 * of EmbeddingModel.embed (tokenized inputs, padded batch, pooling, normalization, read back to the
 * host), the model's GFLOP/s, and its ratio to float32 matmuls over the same matrix shapes and row
 * counts measured in the same run, interleaved.
 */
import { core as mx } from '@frost-beta/mlx';
import { loadEmbeddingModel, type EmbeddingModel } from '@mlx-omni/mlx-native';
import { EMBEDDING_BENCH_FIXTURE_SPEC, ensureFixtures } from '@mlx-omni/model-fixtures';
import { resolve } from 'node:path';

const tick = () => new Promise<void>((done) => setImmediate(done));

function argValue(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const WORDS = 'the quick brown fox jumps over a lazy dog while people in berlin search documents about the red planet and its moons'.split(' ');

/** `count` different sentences of `tokens` tokens each ([CLS] and [SEP] included). */
function sentences(model: EmbeddingModel, count: number, tokens: number): number[][] {
  return Array.from({ length: count }, (_, i) => {
    const words = Array.from({ length: tokens * 2 }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]);
    const ids = model.tokenize([words.join(' ')])[0];
    return [...ids.slice(0, tokens - 1), ids[ids.length - 1]];
  });
}

/** Multiply-adds of one forward per token: the layers' matrices, and attention's two products over `length` keys. */
function flopsPerToken(config: Record<string, number>, length: number): { linear: number; attention: number } {
  const hidden = config['hidden_size'];
  const inter = config['intermediate_size'];
  const perLayer = 4 * hidden * hidden + 2 * hidden * inter;
  return { linear: 2 * perLayer * config['num_hidden_layers'], attention: 2 * 2 * length * hidden * config['num_hidden_layers'] };
}

async function timeRounds(seconds: number, round: () => Promise<void>): Promise<number> {
  await round();
  const started = performance.now();
  let rounds = 0;
  while (performance.now() - started < seconds * 1000 || rounds < 2) {
    await round();
    rounds++;
  }
  return (performance.now() - started) / 1000 / rounds;
}

async function main(): Promise<void> {
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  const tokens = argValue('tokens', 32);
  const seconds = argValue('seconds', 5);
  const dir = (await ensureFixtures(hub, [EMBEDDING_BENCH_FIXTURE_SPEC.id])).get(EMBEDDING_BENCH_FIXTURE_SPEC.id) as string;
  const { embedder, weightBytes } = await loadEmbeddingModel('bert', dir);
  const config = EMBEDDING_BENCH_FIXTURE_SPEC.config as Record<string, number>;
  const hidden = config['hidden_size'];
  const inter = config['intermediate_size'];
  const shapes: Array<[number, number]> = [[hidden, hidden], [hidden, hidden], [hidden, hidden], [hidden, hidden], [inter, hidden], [hidden, inter]];
  const weights = shapes.map(([out, inp]) => mx.random.normal([inp, out], mx.float32));
  mx.eval(...weights);
  const flops = flopsPerToken(config, tokens);

  console.log(`model\t${EMBEDDING_BENCH_FIXTURE_SPEC.id}: ${(weightBytes / 4 / 1e6).toFixed(1)}M parameters, float32, ${mx.metal.isAvailable() ? 'Metal' : 'CPU'}`);
  console.log(`inputs\t${tokens} tokens each ([CLS] and [SEP] included), ${seconds} s per measurement`);
  for (const batch of [1, 8, 64]) {
    const inputs = sentences(embedder, batch, tokens);
    const embedSeconds = await timeRounds(seconds, async () => {
      await embedder.embed(inputs);
    });
    // The same rows through every matrix of one layer, repeated per layer: what the model's linears do.
    const rows = mx.random.normal([batch * tokens, hidden], mx.float32);
    const wide = mx.random.normal([batch * tokens, inter], mx.float32);
    mx.eval(rows, wide);
    const matmulSeconds = await timeRounds(seconds, async () => {
      for (let layer = 0; layer < config['num_hidden_layers']; layer++) {
        mx.eval(...weights.map((w, k) => mx.matmul(k === shapes.length - 1 ? wide : rows, w)));
      }
      await tick();
    });
    const matmulGflops = (flops.linear * batch * tokens) / matmulSeconds / 1e9;
    const modelGflops = ((flops.linear + flops.attention) * batch * tokens) / embedSeconds / 1e9;
    console.log(
      `batch ${String(batch).padStart(2)}\t${(batch / embedSeconds).toFixed(1)} inputs/s\t${((batch * tokens) / embedSeconds).toFixed(0)} tokens/s\t` +
        `${(embedSeconds * 1000).toFixed(1)} ms/request\t${modelGflops.toFixed(1)} GFLOP/s = ${(100 * (modelGflops / matmulGflops)).toFixed(0)}% of fp32 matmul (${matmulGflops.toFixed(1)} GFLOP/s, same shapes)`,
    );
    await tick();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
