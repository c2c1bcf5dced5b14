/**
 * What the HTTP path costs on top of the engine:
 *   npm run bench:chat [-- --runs 5 --max-tokens 64]
 * Starts the service as users do (the built `mlx-omni-server serve`, one worker, private state
 * directory, loopback) on the ~100M-parameter benchmark fixture, streams greedy chat completions
 * through /v1/chat/completions, then runs the same prompt through the engine in this process
 * (loadLanguageModel + ModelTokenizer + generateText), and prints time to first token and decode
 * throughput of both with their ratios. Both sides generate the same greedy text; that is checked.
 */
import { resolve } from 'node:path';
import { generateText, loadLanguageModel, ModelTokenizer } from '@mlx-omni/mlx-native';
import { BENCH_FIXTURE_SPEC, ensureFixtures } from '@mlx-omni/model-fixtures';
import { startService } from './bench-service';

const MODEL = BENCH_FIXTURE_SPEC.id;
const MESSAGES = [{ role: 'user' as const, content: 'Write a long story about a lighthouse keeper who collects clocks.' }];

function argValue(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

/** One generation as both sides see it: when the first text arrived and when the last token did. */
interface Run {
  ttftMs: number;
  /** Tokens per second after the first text, up to the finish. */
  decodeTps: number;
  text: string;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function viaHttp(baseUrl: string, maxTokens: number): Promise<Run> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: MESSAGES, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (!response.ok) {
    throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  }
  const decoder = new TextDecoder();
  let pending = '';
  let text = '';
  let firstAt: number | undefined;
  let finishedAt = started;
  let completionTokens = 0;
  for await (const bytes of response.body!) {
    pending += decoder.decode(bytes as Uint8Array, { stream: true });
    const events = pending.split('\n\n');
    pending = events.pop()!;
    for (const event of events) {
      const data = event.replace(/^data: /, '');
      if (data === '[DONE]') {
        continue;
      }
      const chunk = JSON.parse(data);
      const content: string = chunk.choices[0]?.delta?.content ?? '';
      if (content !== '') {
        firstAt ??= performance.now();
        text += content;
      }
      if (chunk.choices[0]?.finish_reason) {
        finishedAt = performance.now();
      }
      completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
    }
  }
  return { ttftMs: firstAt! - started, decodeTps: (completionTokens - 1) / ((finishedAt - firstAt!) / 1000), text };
}

async function main(): Promise<void> {
  const runs = argValue('runs', 5);
  const maxTokens = argValue('max-tokens', 64);
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  const dir = (await ensureFixtures(hub, [MODEL])).get(MODEL) as string;

  const service = await startService(hub);
  const [{ model, eosTokenIds }, tokenizer] = await Promise.all([loadLanguageModel(dir), ModelTokenizer.load(dir)]);
  const viaEngine = async (): Promise<Run> => {
    const started = performance.now();
    const promptIds = tokenizer.encode(tokenizer.applyChatTemplate(MESSAGES), { addSpecialTokens: false });
    let text = '';
    let firstAt: number | undefined;
    let finishedAt = started;
    let completionTokens = 0;
    for await (const event of generateText(model, tokenizer, promptIds, { temperature: 0, maxTokens, eosTokenIds })) {
      if (event.text !== '') {
        firstAt ??= performance.now();
        text += event.text;
      }
      if (event.type === 'done') {
        finishedAt = performance.now();
        completionTokens = event.completionTokens;
      }
    }
    return { ttftMs: firstAt! - started, decodeTps: (completionTokens - 1) / ((finishedAt - firstAt!) / 1000), text };
  };

  // Alternating runs: load from other processes on a shared machine hits both sides alike. Each
  // side idles while the other runs (the worker waits for a request; this process for the answer).
  const http: Run[] = [];
  const engine: Run[] = [];
  try {
    await viaHttp(service.baseUrl, maxTokens);
    await viaEngine();
    for (let i = 0; i < runs; i++) {
      http.push(await viaHttp(service.baseUrl, maxTokens));
      engine.push(await viaEngine());
    }
  } finally {
    await service.stop();
  }

  const same = http.every((run) => run.text === engine[0].text) && engine.every((run) => run.text === engine[0].text);
  const httpTtft = median(http.map((run) => run.ttftMs));
  const engineTtft = median(engine.map((run) => run.ttftMs));
  const httpTps = median(http.map((run) => run.decodeTps));
  const engineTps = median(engine.map((run) => run.decodeTps));
  const rows: Array<[string, string]> = [
    ['model', `${MODEL}, ${maxTokens} tokens max, greedy, median of ${runs} alternating runs per side after one warm-up`],
    ['same text both ways', same ? 'yes' : 'NO: the HTTP path and the engine generated different text'],
    ['TTFT', `HTTP ${httpTtft.toFixed(1)} ms, engine ${engineTtft.toFixed(1)} ms → overhead ${(httpTtft - engineTtft).toFixed(1)} ms (target < 10 ms)`],
    ['decode', `HTTP ${httpTps.toFixed(1)} tokens/s, engine ${engineTps.toFixed(1)} tokens/s → HTTP/engine ${(httpTps / engineTps).toFixed(3)} (overhead ${(100 * (1 - httpTps / engineTps)).toFixed(1)}%, target < 5%)`],
  ];
  const width = Math.max(...rows.map(([key]) => key.length));
  for (const [key, value] of rows) {
    console.log(`${key.padEnd(width)}  ${value}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
