import { core as mx } from '@frost-beta/mlx';
import type { StepGate } from '../lm/generate/fair-step-scheduler';
import type { EncoderBatch, TextEncoder } from './text-encoder';

/** One tokenized input: its ids and, for text pairs, each token's segment. */
export interface TokenSequence {
  ids: readonly number[];
  typeIds?: readonly number[];
}

export interface BatchRunOptions {
  /** Taken before each forward batch and given back after it: the worker's fair share of the device. */
  gate?: StepGate;
  /** Checked between batches: a cancelled request stops computing. */
  signal?: AbortSignal;
}

/**
 * Padded tokens per forward batch. Attention is [batch, heads, length, length] and the CPU kernel
 * materialises it: 8,192 tokens keep a BERT-base batch near 200 MB at length 512, while short
 * inputs still go 64 and more at a time, which is where batching pays.
 */
export const MAX_BATCH_TOKENS = 8192;

/**
 * Groups inputs of similar length: longest first, each batch as many as fit MAX_BATCH_TOKENS once
 * padded to its longest member (at least one, however long). Sorting keeps padding, wasted work,
 * small; the result does not depend on the grouping (padding is masked out).
 */
export function planBatches(lengths: readonly number[]): number[][] {
  const order = lengths.map((_, index) => index).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const index of order) {
    const longest = current.length === 0 ? lengths[index] : lengths[current[0]];
    if (current.length > 0 && (current.length + 1) * longest > MAX_BATCH_TOKENS) {
      batches.push(current);
      current = [];
    }
    current.push(index);
  }
  if (current.length > 0) {
    batches.push(current);
  }
  return batches;
}

function padded(encoder: TextEncoder, sequences: readonly TokenSequence[]): EncoderBatch {
  const length = Math.max(...sequences.map((s) => s.ids.length));
  const pad = <T>(row: readonly T[], fill: T) => [...row, ...Array<T>(length - row.length).fill(fill)];
  const withTypes = sequences.some((s) => s.typeIds !== undefined);
  return {
    ids: sequences.map((s) => pad(s.ids, encoder.padId)),
    typeIds: withTypes ? sequences.map((s) => pad(s.typeIds ?? s.ids.map(() => 0), 0)) : undefined,
    lengths: sequences.map((s) => s.ids.length),
  };
}

/**
 * Runs the encoder over every sequence in padded batches and returns, per sequence in input order,
 * the row `readOut` computes from its batch's hidden states ([batch, …] → one float row each).
 * Each batch is one acquire/release of the gate, and the event loop turns between batches so the
 * intermediates' native memory is freed and other requests get their turn.
 */
export async function runInBatches(
  encoder: TextEncoder,
  sequences: readonly TokenSequence[],
  readOut: (hidden: mx.array, batch: EncoderBatch) => mx.array,
  options: BatchRunOptions = {},
): Promise<number[][]> {
  const rows = new Array<number[]>(sequences.length);
  for (const indices of planBatches(sequences.map((s) => s.ids.length))) {
    options.signal?.throwIfAborted();
    const batch = padded(encoder, indices.map((i) => sequences[i]));
    await options.gate?.acquire();
    let values: number[][];
    try {
      const out = readOut(encoder.forward(batch), batch).astype(mx.float32);
      mx.eval(out);
      values = out.reshape(indices.length, -1).tolist() as number[][];
    } finally {
      options.gate?.release();
    }
    indices.forEach((index, k) => (rows[index] = values[k]));
    await new Promise(setImmediate);
  }
  return rows;
}
