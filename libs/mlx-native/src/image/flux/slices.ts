import { core as mx } from '@frost-beta/mlx';
import { gated, type StepGate } from '../../runtime/step-gate';

/**
 * Runs one slice of the image work (a transformer block, a VAE stage) to completion: whoever shares the
 * device decides when (the worker passes one that takes a turn of its step scheduler), and between
 * slices the event loop turns, so job-lock renewals, IPC and native-memory finalizers keep running
 * during a denoising step that can take seconds.
 */
export type SliceRunner = <T extends mx.array | mx.array[]>(work: () => T) => Promise<T>;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Present when node runs with --expose-gc, as the workers do. */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

/** A SliceRunner that evaluates each slice inside one turn of `gate` (none: event-loop order), then yields. */
export function sliceRunner(gate?: StepGate, signal?: AbortSignal): SliceRunner {
  return async <T extends mx.array | mx.array[]>(work: () => T): Promise<T> => {
    signal?.throwIfAborted();
    const result = await gated(gate, () => {
      const arrays = work();
      mx.eval(...(Array.isArray(arrays) ? arrays : [arrays]));
      return arrays;
    });
    // A slice leaves its intermediates (hundreds of MB in a VAE stage at 1024²) to wrappers V8 sees as
    // tiny, so without a collection they pile up: a 512² bench image grew the process to 18 GB and was
    // OOM-killed. One full collection per slice costs milliseconds against a slice's tens or hundreds.
    collectGarbage?.();
    await turn();
    return result;
  };
}
