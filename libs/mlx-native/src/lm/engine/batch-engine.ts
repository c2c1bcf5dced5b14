import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { core as mx } from '@frost-beta/mlx';
import { cacheBytes, RowCaches, type ForkableKVCache } from '../../nn/kv-cache';
import type { StepGate } from '../../runtime/step-gate';
import type { LanguageModel } from '../language-model';
import type { PromptCache } from '../cache/prompt-cache';
import { requireOption } from '../generate/errors';
import type { TokenGenerationEvent } from '../generate/events';
import { GenerationClock } from '../generate/generation-clock';
import { BatchCaches } from './batch-caches';
import { FairAdmission } from './fair-admission';
import { resolveSequence, SequenceRow, type ResolvedSequence, type SequenceOptions } from './sequence';
import { TokenStream } from './token-stream';

/** Present when node runs with --expose-gc. */
const collectGarbage = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;

// Only the last position's logits are ever read: prefill chunks exist to fill the cache.
const LAST_TOKEN_ONLY = { lastTokenOnly: true };
/** Fills a shorter prompt's row of a batched prefill chunk; attention skips it, so any id in the vocabulary does. */
const PADDING_TOKEN = 0;

export interface BatchEngineOptions {
  /** Rows decoded together at most; past it requests wait. Default 16. */
  maxRows?: number;
  /** Newcomers wait while the running rows' keys and values take this many bytes or more. Default: no limit. */
  maxKvBytes?: number;
  /**
   * Prompt tokens per prefill forward pass (prompts fed together count padded to the longest); a
   * decode step waits for at most one such chunk. Default 512.
   */
  prefillChunkSize?: number;
  /** Reused prefixes; none: every prompt is computed in full. */
  promptCache?: PromptCache;
  /** Scope prompt-cache entries to the caller that made them (default), or share them across callers. */
  sharePromptCache?: boolean;
  /** Turn-taking with the process's other device work (embeddings, speech, images) around each step. */
  gate?: StepGate;
}

export interface SequenceRequest {
  promptIds: readonly number[];
  /** One entry per sequence to sample from the prompt (`n`): the prompt is computed once and forked. */
  forks: readonly SequenceOptions[];
  /** Who asks (an API key): admission is fair between callers, and prompt-cache entries are theirs. */
  caller: string;
  signal?: AbortSignal;
}

/** What `submit` gives back: one event stream per fork. */
export interface SubmittedSequence {
  readonly streams: AsyncIterableIterator<TokenGenerationEvent>[];
  /** Prompt tokens reused from the prompt cache; known once the request is admitted (before its first token). */
  readonly cachedTokens: number;
}

export interface BatchEngineStats {
  /** Requests admitted (prefilling or decoding). */
  running: number;
  /** Requests waiting for a place in the batch. */
  waiting: number;
  /** Rows decoding now. */
  rows: number;
  /** Bytes of keys and values the admitted requests hold. */
  kvBytes: number;
  promptCacheBytes: number;
}

/** A request from submission until its rows join the batch. */
class Admission {
  caches: ForkableKVCache[] | undefined;
  /** Prompt tokens already in `caches`. */
  fed = 0;
  cachedTokens = 0;

  constructor(
    readonly request: SequenceRequest,
    readonly settings: ResolvedSequence[],
    readonly streams: TokenStream[],
    readonly clocks: GenerationClock[],
  ) {}

  get prompt(): readonly number[] {
    return this.request.promptIds;
  }

  /** Every fork's reader left or the request was cancelled: no work is owed. */
  get abandoned(): boolean {
    return this.request.signal?.aborted === true || this.streams.every((stream) => stream.closed);
  }
}

/**
 * Continuous batching for one loaded language model. Requests submit sequences; between steps
 * newcomers join and finished or cancelled rows leave. Each iteration feeds at most one prefill
 * chunk (one newcomer's, or several short ones' together), then decodes one token for every
 * running row in a single batched forward pass: the weights are read once per step for all rows,
 * which is what a memory-bound decode pays for. Everything after the forward pass (logits
 * processing, sampling, logprobs, stops) is per row and the same as for a sequence alone.
 */
export class BatchEngine {
  private readonly admission = new FairAdmission<Admission>();
  private readonly prefilling: Admission[] = [];
  /** The decoding rows, in batch order; `caches` holds their keys and values in the same order. */
  private readonly rows: SequenceRow[] = [];
  private readonly caches = new BatchCaches();
  private loop: Promise<void> | undefined;
  /** The limits in force, defaults filled in. */
  readonly maxRows: number;
  readonly maxKvBytes: number;
  private readonly prefillChunkSize: number;
  /** Decode steps run, by batch size: index b counts steps over b rows. */
  readonly stepsByBatchSize: number[] = [];
  /** Prefill chunks run, by the number of prompts they fed together. */
  readonly prefillsByBatchSize: number[] = [];

  constructor(
    readonly model: LanguageModel,
    readonly options: BatchEngineOptions = {},
  ) {
    this.maxRows = options.maxRows ?? 16;
    this.maxKvBytes = options.maxKvBytes ?? Infinity;
    this.prefillChunkSize = options.prefillChunkSize ?? 512;
    requireOption(Number.isInteger(this.maxRows) && this.maxRows > 0, 'maxRows must be an integer > 0');
    requireOption(Number.isInteger(this.prefillChunkSize) && this.prefillChunkSize > 0, 'prefillChunkSize must be an integer > 0');
  }

  get stats(): BatchEngineStats {
    return {
      running: this.prefilling.length + new Set(this.rows.map((row) => row.request)).size,
      waiting: this.admission.size,
      rows: this.rows.length,
      kvBytes: this.kvBytes(),
      promptCacheBytes: this.options.promptCache?.bytes ?? 0,
    };
  }

  /** Empties the prompt cache (running rows keep their own caches); returns the bytes it held. */
  releasePromptCache(): number {
    const bytes = this.options.promptCache?.bytes ?? 0;
    this.options.promptCache?.clear();
    return bytes;
  }

  /**
   * Queues a request. Invalid options and a prompt that does not fit throw here, before any work;
   * a fault of a later step ends the request's streams with that error.
   */
  submit(request: SequenceRequest): SubmittedSequence {
    requireOption(request.forks.length > 0, 'at least one sequence must be requested');
    const settings = request.forks.map((fork) => resolveSequence(this.model, request.promptIds, fork));
    const admission = new Admission(
      request,
      settings,
      settings.map(() => new TokenStream()),
      settings.map(() => new GenerationClock()),
    );
    this.admission.enqueue(request.caller, admission);
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
    });
    return {
      streams: admission.streams,
      get cachedTokens() {
        return admission.cachedTokens;
      },
    };
  }

  private async run(): Promise<void> {
    while (this.admission.size > 0 || this.prefilling.length > 0 || this.rows.length > 0) {
      // Finalizers of native arrays run only when the event loop turns, readers must see their events,
      // and requests submitted in the same turn then join the same step.
      await nextMacrotask();
      this.dropAbandoned();
      this.admit();
      if (this.prefilling.length === 0 && this.rows.length === 0) {
        // Everything that waited was abandoned.
        continue;
      }
      await this.options.gate?.acquire();
      let prefilled = false;
      const rowsBefore = this.caches.rows;
      try {
        prefilled = this.prefillChunk();
        this.decodeStep();
      } catch (error) {
        this.failAll(error);
      } finally {
        this.options.gate?.release();
      }
      this.retireFinished();
      if (prefilled || this.caches.rows !== rowsBefore) {
        // A chunk's intermediates (hundreds of MB on a large model), and the shared KV buffers that rows
        // joining or leaving replaced, are freed only by their finalizers; a collection here (when node
        // runs with --expose-gc, as the workers do) keeps the peak at one chunk and one set of buffers.
        collectGarbage?.();
      } else {
        // A step's outputs (a batch's logits alone are a megabyte) die young: a scavenge lets their
        // finalizers free them by the next step, which then reuses that memory. Left to V8, which does
        // not see native memory, every step's outputs were fresh pages, and the page faults took up to
        // a third of a step of 8 rows.
        collectGarbage?.({ type: 'minor' });
      }
    }
    this.admission.reset();
  }

  /** Moves waiting requests into the batch while rows and KV memory allow, least served caller first. */
  private admit(): void {
    for (;;) {
      const next = this.admission.peek();
      if (next === undefined) {
        return;
      }
      const occupied = this.rows.length + this.prefilling.reduce((sum, admission) => sum + admission.settings.length, 0);
      const idle = occupied === 0;
      if (!idle && (occupied + next.settings.length > this.maxRows || this.kvBytes() >= this.maxKvBytes)) {
        return;
      }
      this.admission.take(next, next.settings.length);
      this.start(next);
    }
  }

  private start(admission: Admission): void {
    const hit = this.options.promptCache?.lookup(this.scopeOf(admission.request.caller), admission.prompt);
    admission.caches = hit?.caches ?? this.model.createCache();
    admission.fed = hit?.length ?? 0;
    admission.cachedTokens = hit?.length ?? 0;
    this.prefilling.push(admission);
    this.joinPrefilled([admission]);
  }

  /**
   * Feeds one prefill chunk (prompts less their last token, which each row's first decode step feeds):
   * the oldest newcomer's next tokens, and with them those of the newcomers after it for as long as the
   * batch, padded on the left to its longest row, stays within `prefillChunkSize` tokens. Prompts that
   * arrive together (a team's requests at the top of the hour, `n` separate calls) then run their
   * projections as one product of many rows, which the CPU backend computes faster than one per prompt,
   * and their first tokens come out together.
   */
  private prefillChunk(): boolean {
    const group: Array<{ admission: Admission; take: number }> = [];
    let width = 0;
    for (const admission of this.prefilling) {
      const take = Math.min(admission.prompt.length - 1 - admission.fed, this.prefillChunkSize);
      const widened = Math.max(width, take);
      if (group.length > 0 && (group.length + 1) * widened > this.prefillChunkSize) {
        break;
      }
      group.push({ admission, take });
      width = widened;
    }
    if (group.length === 0) {
      return false;
    }
    const tokens = group.map(({ admission, take }) => [...Array<number>(width - take).fill(PADDING_TOKEN), ...admission.prompt.slice(admission.fed, admission.fed + take)]);
    const caches = group.map(({ admission }) => admission.caches as ForkableKVCache[]);
    const layers =
      group.length === 1
        ? caches[0]
        : caches[0].map((_, layer) =>
            new RowCaches(
              caches.map((rowCaches) => rowCaches[layer]),
              group.map(({ take }) => take),
            ),
          );
    mx.eval(this.model.forward(mx.array(tokens, mx.int32), layers, LAST_TOKEN_ONLY));
    this.prefillsByBatchSize[group.length] = (this.prefillsByBatchSize[group.length] ?? 0) + 1;
    for (const { admission, take } of group) {
      admission.fed += take;
    }
    this.joinPrefilled(group.map(({ admission }) => admission));
    return true;
  }

  /** Those of these requests that are prefilled join the batch together: each fork a row with its own copy of the prompt's caches. */
  private joinPrefilled(admissions: readonly Admission[]): void {
    const joining: ForkableKVCache[][] = [];
    for (const admission of admissions.filter((candidate) => candidate.fed >= candidate.prompt.length - 1)) {
      this.prefilling.splice(this.prefilling.indexOf(admission), 1);
      const caches = admission.caches as ForkableKVCache[];
      admission.settings.forEach((settings, i) => {
        // The last fork takes the prefilled caches themselves; forking a full cache never fails.
        joining.push(i === admission.settings.length - 1 ? caches : caches.map((cache) => cache.fork() as ForkableKVCache));
        this.rows.push(
          new SequenceRow({
            caller: admission.request.caller,
            request: admission.request,
            prompt: admission.prompt,
            cachedTokens: admission.cachedTokens,
            settings,
            stream: admission.streams[i],
            clock: admission.clocks[i],
            signal: admission.request.signal,
          }),
        );
      });
    }
    this.caches.join(joining);
  }

  private decodeStep(): void {
    // Rows that ended since the last step (a cancelled request) leave before it.
    this.retireFinished();
    const rows = this.rows;
    if (rows.length === 0) {
      return;
    }
    const tokens = mx.array(
      rows.map((row) => [row.nextInput]),
      mx.int32,
    );
    const logits = this.model.forward(tokens, this.caches.layers(), LAST_TOKEN_ONLY);
    const pending = rows.map((row, r) => row.sample(logits.index(r, 0)));
    // One evaluation per step: the forward pass and every row's sampling and logprobs run as one graph.
    mx.eval(...pending.flatMap((step) => [step.token, step.chosenLogprob, step.topIds, step.topValues]).filter((array) => array !== undefined));
    rows.forEach((row, r) => {
      row.accept(pending[r]);
      this.admission.served(row.caller);
    });
    this.stepsByBatchSize[rows.length] = (this.stepsByBatchSize[rows.length] ?? 0) + 1;
  }

  /** Rows that ended leave the batch; a sequence that ran to its end leaves its caches to the prompt cache. */
  private retireFinished(): void {
    const staying: number[] = [];
    this.rows.forEach((row, r) => {
      if (!row.endIfDue()) {
        staying.push(r);
        return;
      }
      this.admission.left(row.caller);
      if (!row.abandoned) {
        this.options.promptCache?.store(this.scopeOf(row.caller), row.fed, this.caches.extract(r));
      }
    });
    if (staying.length < this.rows.length) {
      this.caches.keep(staying);
      this.rows.splice(0, this.rows.length, ...staying.map((r) => this.rows[r]));
    }
  }

  /** Requests nobody waits for any more leave the queue and the prefill line without costing a step. */
  private dropAbandoned(): void {
    for (const admission of this.admission.remove((waiting) => waiting.abandoned)) {
      this.endAdmission(admission);
    }
    for (const admission of this.prefilling.filter((candidate) => candidate.abandoned)) {
      this.prefilling.splice(this.prefilling.indexOf(admission), 1);
      admission.settings.forEach(() => this.admission.left(admission.request.caller));
      this.endAdmission(admission);
    }
  }

  private endAdmission(admission: Admission): void {
    admission.streams.forEach((stream, i) => {
      if (!stream.closed) {
        stream.push(admission.clocks[i].finish('abort', admission.prompt.length, 0));
      }
    });
  }

  /** A failed step leaves every cache it touched in an unknown state: all admitted requests end with the error. */
  private failAll(error: unknown): void {
    this.caches.keep([]);
    for (const row of this.rows.splice(0)) {
      row.finished = true;
      row.stream.fail(error);
      this.admission.left(row.caller);
    }
    for (const admission of this.prefilling.splice(0)) {
      admission.streams.forEach((stream) => {
        stream.fail(error);
        this.admission.left(admission.request.caller);
      });
    }
  }

  private kvBytes(): number {
    const admitted = this.prefilling.reduce((sum, admission) => sum + cacheBytes(admission.caches ?? []), 0);
    return admitted + this.caches.nbytes;
  }

  private scopeOf(caller: string): string {
    return this.options.sharePromptCache ? '' : caller;
  }
}
