import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { core as mx } from '@frost-beta/mlx';
import type { StepGate } from './step-gate';

/** Present when node runs with --expose-gc (the workers do). */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

type Arrays = mx.array | readonly mx.array[];

/**
 * Runs a long computation as a sequence of bounded units: each unit waits for its turn on the device
 * (the worker's StepGate, so a long job such as speech takes turns with chat decode steps),
 * is evaluated, and then the event loop turns, so sockets, job-lock renewals and other requests keep
 * moving, and the finalizers of the unit's intermediates can run (native memory is freed only then).
 * An aborted signal stops the work between units.
 */
export class PacedWork {
  constructor(
    private readonly turns?: StepGate,
    private readonly signal?: AbortSignal,
  ) {}

  /** Evaluates what `unit` builds; `collect` also runs a full collection after it (units that leave large intermediates). */
  async run<T extends Arrays>(unit: () => T, options: { collect?: boolean } = {}): Promise<T> {
    this.signal?.throwIfAborted();
    await this.turns?.acquire();
    let result: T;
    try {
      result = unit();
      mx.eval(...(Array.isArray(result) ? result : [result as mx.array]));
    } finally {
      this.turns?.release();
    }
    if (options.collect) {
      collectGarbage?.();
    }
    await nextMacrotask();
    return result;
  }
}
