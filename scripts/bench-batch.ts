/**
 * What a shared host gives many users at once, measured through the HTTP API with the official
 * `openai` SDK:
 *   npm run bench:batch [-- --model 100m|256m|both --tokens 64 --concurrency 1,2,4,8,16 --rounds 3 --warmup true]
 * For each model (the ~100M and ~256M float32 bench fixtures) it starts the service as users do
 * (bench-service.ts), loads the model with one short request, then (unless --warmup false) sends one
 * unmeasured burst at the largest concurrency: a fresh worker's first burst faults its working memory
 * in (3 ms per MB in the development VM; ~256M: 60 tokens/s for the first burst of 8, 92 for the
 * next), and a shared host is measured as it runs, not as it starts. Then:
 *
 * Concurrent streams. For each concurrency N, N greedy streaming chat completions with distinct
 * prompts of similar length, all sent at once, each asked for --tokens tokens: one such burst per
 * level and round, the levels taking turns (1, 2, 4, 8, 16, 1, 2, ...) for --rounds rounds, so that a
 * slow spell of a shared machine falls on all levels rather than on one.
 * - Aggregate decode tokens/s = (Σ completion tokens of the N streams − 1) / (t_last − t_first),
 *   where t_first is the earliest first token of any stream and t_last the latest last token of
 *   any stream. The one token subtracted is the one that opens the window, so with N = 1 this is
 *   that stream's decode rate. Prefills of streams that start late fall inside the window: this is
 *   what the server delivers while all N users wait, not a per-step figure.
 * - A level's figure is the median of its rounds' aggregates.
 * - TTFT of a stream: from sending its request to its first content delta (prefill, queueing
 *   behind other streams, and HTTP included). p50 and p95 over the level's streams of all rounds,
 *   nearest rank.
 * - Target: aggregate(8) / aggregate(1) ≥ 4, the medians' ratio; each round's own ratio is printed too.
 *
 * Prompt reuse. A ~1,500-token conversation (a long system message that starts with a random
 * nonce, so the first send finds nothing cached, and a user message) is sent cold, then again
 * identically, then as a chat client sends its next turn: the first answer appended as an
 * assistant message plus a new user message. TTFT of each (median over --rounds rounds, each with
 * its own nonce), the ratios repeat/cold and new-message/cold (target ≤ 0.3), and the
 * `usage.prompt_tokens_details.cached_tokens` the server reported for each.
 *
 * Prints the worker's environment (Node, cores, BLAS threads, whether a BLAS shim is preloaded, the
 * BLAS library it mapped) and its RSS from /v1/workers after the model loaded and at the end, then
 * the results as markdown tables for the README's Performance section.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { BENCH_256M_FIXTURE_SPEC, BENCH_FIXTURE_SPEC, ensureFixtures } from '@mlx-omni/model-fixtures';
import { startService } from './bench-service';

const MODELS = { '100m': BENCH_FIXTURE_SPEC.id, '256m': BENCH_256M_FIXTURE_SPEC.id } as const;
type ModelChoice = keyof typeof MODELS;

/** Similar lengths in tokens, so that concurrent streams prefill about the same work. */
const STORY_SUBJECTS = [
  'a lighthouse keeper who collects clocks',
  'a baker who collects old sea maps',
  'a pilot who collects paper lanterns',
  'a gardener who collects broken compasses',
  'a tailor who collects glass marbles',
  'a miner who collects river stones',
  'a painter who collects brass keys',
  'a fisher who collects pocket watches',
  'a teacher who collects postage stamps',
  'a doctor who collects wooden toys',
  'a farmer who collects silver spoons',
  'a sailor who collects seashell combs',
  'a librarian who collects pressed flowers',
  'a potter who collects railway tickets',
  'a weaver who collects iron horseshoes',
  'a cook who collects antique teapots',
];

const ROOMS = ['library', 'kitchen', 'garden', 'music room', 'cellar', 'attic', 'boathouse', 'orchard', 'workshop', 'parlour'];
const DUTIES = ['sign the guest book', 'close every window', 'return borrowed books', 'wipe the long table', 'water the ferns', 'lock the side gate', 'report broken glass', 'stack the chairs'];
const HOURS = ['seven in the morning', 'noon', 'four in the afternoon', 'sunset', 'nine at night', 'midnight'];
/** With the two user messages this makes a conversation of about 1,500 tokens (Llama 2 tokenizer). */
const HOUSE_RULES = 72;

function argValue(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

function positiveInteger(name: string, fallback: number): number {
  const value = Number(argValue(name, String(fallback)));
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`--${name} must be a positive integer`);
  }
  return value;
}

function modelChoices(): ModelChoice[] {
  const choice = argValue('model', 'both');
  if (choice === 'both') {
    return ['100m', '256m'];
  }
  if (choice in MODELS) {
    return [choice as ModelChoice];
  }
  throw new Error('--model must be 100m, 256m or both');
}

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

const median = (values: number[]) => percentile(values, 50);

/** One streamed completion as its client saw it (times from performance.now()). */
interface StreamRun {
  ttftMs: number;
  firstAt: number;
  lastAt: number;
  completionTokens: number;
  promptTokens: number;
  cachedTokens: number;
  text: string;
}

async function streamChat(client: OpenAI, model: string, messages: ChatCompletionMessageParam[], maxTokens: number): Promise<StreamRun> {
  const sentAt = performance.now();
  const stream = await client.chat.completions.create({ model, messages, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let firstAt: number | undefined;
  let lastAt = sentAt;
  let text = '';
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    const content = chunk.choices[0]?.delta?.content ?? '';
    if (content !== '') {
      lastAt = performance.now();
      firstAt ??= lastAt;
      text += content;
    }
    usage = chunk.usage ?? usage;
  }
  if (firstAt === undefined || usage === undefined) {
    throw new Error(`The stream from ${model} ended without ${firstAt === undefined ? 'any text' : 'a usage chunk'}`);
  }
  return {
    ttftMs: firstAt - sentAt,
    firstAt,
    lastAt,
    completionTokens: usage.completion_tokens,
    promptTokens: usage.prompt_tokens,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    text,
  };
}

/** One burst of concurrent streams. */
interface Burst {
  streams: number;
  completionTokens: number;
  aggregateTps: number;
  ttftsMs: number[];
}

async function concurrentStreams(client: OpenAI, model: string, streams: number, maxTokens: number): Promise<Burst> {
  // Its own tag per level and run: no stream's prompt was seen before, whatever the server caches.
  const tag = randomBytes(3).toString('hex');
  const runs = await Promise.all(
    Array.from({ length: streams }, (_, i) =>
      streamChat(client, model, [{ role: 'user', content: `Story ${i + 1} of ${streams} (${tag}): write a long story about ${STORY_SUBJECTS[i % STORY_SUBJECTS.length]}.` }], maxTokens),
    ),
  );
  const completionTokens = runs.reduce((sum, run) => sum + run.completionTokens, 0);
  const windowS = (Math.max(...runs.map((run) => run.lastAt)) - Math.min(...runs.map((run) => run.firstAt))) / 1000;
  return { streams, completionTokens, aggregateTps: (completionTokens - 1) / windowS, ttftsMs: runs.map((run) => run.ttftMs) };
}

/** One concurrency level over its rounds' bursts. */
interface Level {
  streams: number;
  bursts: Burst[];
}

const levelTps = (level: Level) => median(level.bursts.map((burst) => burst.aggregateTps));
const levelTtfts = (level: Level) => level.bursts.flatMap((burst) => burst.ttftsMs);

function longSystemPrompt(nonce: string): string {
  const rules = Array.from(
    { length: HOUSE_RULES },
    (_, n) => `Rule ${n + 1}: whoever uses the ${ROOMS[n % ROOMS.length]} must ${DUTIES[(n * 3) % DUTIES.length]} before ${HOURS[(n * 5) % HOURS.length]}.`,
  );
  return [`Session ${nonce}.`, 'You are the steward of an old seaside guest house. These are the house rules; quote them exactly when asked.', ...rules].join('\n');
}

interface ReuseRound {
  cold: StreamRun;
  repeat: StreamRun;
  newMessage: StreamRun;
}

async function promptReuse(client: OpenAI, model: string, maxTokens: number): Promise<ReuseRound> {
  const opening: ChatCompletionMessageParam[] = [
    { role: 'system', content: longSystemPrompt(randomBytes(8).toString('hex')) },
    { role: 'user', content: 'Which rules apply to the kitchen, and by when?' },
  ];
  const cold = await streamChat(client, model, opening, maxTokens);
  const repeat = await streamChat(client, model, opening, maxTokens);
  const nextTurn: ChatCompletionMessageParam[] = [...opening, { role: 'assistant', content: cold.text }, { role: 'user', content: 'And which apply to the attic?' }];
  const newMessage = await streamChat(client, model, nextTurn, maxTokens);
  return { cold, repeat, newMessage };
}

interface WorkerView {
  pid: number | null;
  rssBytes: number | null;
  inFlight: number;
}

async function worker(baseUrl: string): Promise<WorkerView> {
  const response = await fetch(`${baseUrl}/v1/workers`);
  if (!response.ok) {
    throw new Error(`GET /v1/workers: HTTP ${response.status}`);
  }
  const body = (await response.json()) as { data: Array<{ pid: number | null; in_flight: number; memory: { rss_bytes: number } | null }> };
  const [first] = body.data;
  return { pid: first?.pid ?? null, rssBytes: first?.memory?.rss_bytes ?? null, inFlight: first?.in_flight ?? 0 };
}

const SETTLE_TIMEOUT_MS = 60_000;

/**
 * Waits until the API counts no request in flight to the worker. A request stays counted for a
 * moment after its client read the last chunk, and those stragglers would count against the
 * worker's request limit (16 by default: the 16-stream level would get 503s).
 */
async function settled(baseUrl: string, model: string): Promise<void> {
  const started = Date.now();
  let polls = 0;
  while ((await worker(baseUrl)).inFlight > 0) {
    if (Date.now() - started > SETTLE_TIMEOUT_MS) {
      throw new Error(`Requests stayed in flight ${SETTLE_TIMEOUT_MS / 1000} s after every stream had ended`);
    }
    polls++;
    await sleep(50);
  }
  if (polls > 0) {
    console.error(`${model}: waited ${Date.now() - started} ms for finished requests to leave the API's in-flight count`);
  }
}

/** What the worker process itself runs with, read from /proc (Linux); `null` elsewhere. */
function workerProcessEnvironment(pid: number | null): Array<[string, string]> | null {
  if (pid === null || !existsSync(`/proc/${pid}/environ`)) {
    return null;
  }
  const env = new Map(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
  const blasLibraries = new Set(
    readFileSync(`/proc/${pid}/maps`, 'utf8')
      .split('\n')
      .map((line) => line.split(/\s+/)[5] ?? '')
      .filter((path) => /blas|blis/i.test(path)),
  );
  return [
    ['OPENBLAS_NUM_THREADS', env.get('OPENBLAS_NUM_THREADS') ?? 'unset (OpenBLAS uses every core)'],
    ['BLAS shim', env.get('MLX_OMNI_BLAS_SHIM') ?? (env.has('LD_PRELOAD') ? `LD_PRELOAD=${env.get('LD_PRELOAD')}` : 'none preloaded')],
    ['BLAS libraries mapped', blasLibraries.size > 0 ? [...blasLibraries].join(', ') : 'none'],
  ];
}

interface ModelReport {
  model: string;
  levels: Level[];
  reuse: ReuseRound[];
  rssLoadedBytes: number | null;
  rssEndBytes: number | null;
  environment: Array<[string, string]> | null;
}

async function benchModel(hub: string, model: string, maxTokens: number, concurrency: number[], rounds: number, warmup: boolean): Promise<ModelReport> {
  const service = await startService(hub);
  try {
    const client = new OpenAI({ baseURL: `${service.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0, timeout: 30 * 60_000 });
    // Loads the model, so that no measured request pays for it.
    await streamChat(client, model, [{ role: 'user', content: 'Hello.' }], 4);
    const loaded = await worker(service.baseUrl);
    const environment = workerProcessEnvironment(loaded.pid);
    if (warmup) {
      await settled(service.baseUrl, model);
      const burst = await concurrentStreams(client, model, Math.max(...concurrency), maxTokens);
      console.error(`${model}: warm-up burst of ${burst.streams} streams → ${burst.aggregateTps.toFixed(1)} tokens/s (not counted)`);
    }
    const levels: Level[] = concurrency.map((streams) => ({ streams, bursts: [] }));
    for (let round = 0; round < rounds; round++) {
      for (const level of levels) {
        await settled(service.baseUrl, model);
        const burst = await concurrentStreams(client, model, level.streams, maxTokens);
        console.error(`${model}: round ${round + 1}, ${level.streams} streams → ${burst.aggregateTps.toFixed(1)} tokens/s, TTFT p50 ${percentile(burst.ttftsMs, 50).toFixed(0)} ms`);
        level.bursts.push(burst);
      }
    }
    const reuse: ReuseRound[] = [];
    for (let round = 0; round < rounds; round++) {
      await settled(service.baseUrl, model);
      const result = await promptReuse(client, model, maxTokens);
      console.error(`${model}: ${result.cold.promptTokens}-token prompt, TTFT cold ${result.cold.ttftMs.toFixed(0)} ms, repeat ${result.repeat.ttftMs.toFixed(0)} ms, new message ${result.newMessage.ttftMs.toFixed(0)} ms`);
      reuse.push(result);
    }
    const end = await worker(service.baseUrl);
    return { model, levels, reuse, rssLoadedBytes: loaded.rssBytes, rssEndBytes: end.rssBytes, environment };
  } finally {
    await service.stop();
  }
}

const mib = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 2 ** 20).toFixed(0)} MiB`);
const shortName = (model: string) => model.slice(model.indexOf('/') + 1);
const table = (header: string[], rows: string[][]) => [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');

/** The medians' ratio of `streams` streams to one, then each round's own ratio. */
function ratioOf(levels: Level[], streams: number): string {
  const one = levels.find((level) => level.streams === 1);
  const many = levels.find((level) => level.streams === streams);
  if (!one || !many) {
    return 'n/a';
  }
  const perRound = many.bursts.map((burst, round) => `${(burst.aggregateTps / one.bursts[round].aggregateTps).toFixed(2)}x`);
  return `${(levelTps(many) / levelTps(one)).toFixed(2)}x${perRound.length > 1 ? ` (rounds: ${perRound.join(', ')})` : ''}`;
}

/** The values one field took over the rounds, joined when they differ. */
const distinct = (values: number[]) => [...new Set(values)].join(', ');

function printReport(reports: ModelReport[], maxTokens: number, rounds: number, warmup: boolean): void {
  const lines: string[] = [];
  const args = process.argv.slice(2);
  lines.push(`#### \`npm run bench:batch${args.length > 0 ? ` -- ${args.join(' ')}` : ''}\``);
  lines.push('');
  lines.push(
    `- Node ${process.version}, ${availableParallelism()} cores, ${maxTokens} tokens per stream, greedy, streaming chat completions via the openai SDK${warmup ? ', after one unmeasured burst at the largest concurrency' : ', no warm-up burst'}`,
  );
  for (const report of reports) {
    const environment = report.environment?.map(([key, value]) => `${key}: ${value}`).join('; ') ?? 'not readable on this OS';
    lines.push(`- worker (${shortName(report.model)}): ${environment}; RSS ${mib(report.rssLoadedBytes)} after load → ${mib(report.rssEndBytes)} at the end`);
  }
  lines.push('');
  lines.push(
    table(
      ['model', 'streams', 'aggregate decode tokens/s (median)', 'rounds', 'TTFT p50 (ms)', 'TTFT p95 (ms)', 'completion tokens per round'],
      reports.flatMap((report) =>
        report.levels.map((level) => [
          shortName(report.model),
          String(level.streams),
          levelTps(level).toFixed(1),
          level.bursts.map((burst) => burst.aggregateTps.toFixed(1)).join(', '),
          percentile(levelTtfts(level), 50).toFixed(0),
          percentile(levelTtfts(level), 95).toFixed(0),
          distinct(level.bursts.map((burst) => burst.completionTokens)),
        ]),
      ),
    ),
  );
  lines.push('');
  lines.push(
    table(
      ['model', 'prompt tokens', 'TTFT cold (ms)', 'TTFT repeat (ms)', 'TTFT new message (ms)', 'repeat / cold', 'new message / cold', 'cached tokens cold / repeat / new', 'aggregate 8 / 1 streams'],
      reports.map((report) => {
        const cold = median(report.reuse.map((round) => round.cold.ttftMs));
        const repeat = median(report.reuse.map((round) => round.repeat.ttftMs));
        const newMessage = median(report.reuse.map((round) => round.newMessage.ttftMs));
        const cached = (pick: (round: ReuseRound) => StreamRun) => distinct(report.reuse.map((round) => pick(round).cachedTokens));
        return [
          shortName(report.model),
          distinct(report.reuse.map((round) => round.cold.promptTokens)),
          cold.toFixed(0),
          repeat.toFixed(0),
          newMessage.toFixed(0),
          `${(repeat / cold).toFixed(2)}x`,
          `${(newMessage / cold).toFixed(2)}x`,
          `${cached((round) => round.cold)} / ${cached((round) => round.repeat)} / ${cached((round) => round.newMessage)}`,
          ratioOf(report.levels, 8),
        ];
      }),
    ),
  );
  lines.push('');
  lines.push(
    `Targets: aggregate 8 / 1 streams ≥ 4x; repeat / cold and new message / cold ≤ 0.3x (medians over ${rounds} round${rounds === 1 ? '' : 's'}; prompts with a fresh nonce or tag each round).`,
  );
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const models = modelChoices().map((choice) => MODELS[choice]);
  const maxTokens = positiveInteger('tokens', 64);
  const rounds = positiveInteger('rounds', 3);
  const warmup = argValue('warmup', 'true') !== 'false';
  const concurrency = argValue('concurrency', '1,2,4,8,16').split(',').map(Number);
  if (concurrency.some((streams) => !Number.isInteger(streams) || streams < 1)) {
    throw new Error('--concurrency must be a comma-separated list of positive integers');
  }
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  await ensureFixtures(hub, models);
  const reports: ModelReport[] = [];
  for (const model of models) {
    reports.push(await benchModel(hub, model, maxTokens, concurrency, rounds, warmup));
  }
  printReport(reports, maxTokens, rounds, warmup);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
