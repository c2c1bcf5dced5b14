import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { core as mx } from '@frost-beta/mlx';

/**
 * Turn-taking on the device: the chat loops' StepGate has this shape, so a long job (speech) can take
 * its turns between chat decode steps instead of holding the device for its whole run.
 */
export interface DeviceTurns {
  acquire(): Promise<void>;
  release(): void;
}

/** Present when node runs with --expose-gc (the workers do). */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

type Arrays = mx.array | readonly mx.array[];

/**
 * Runs a long computation as a sequence of bounded units: each unit waits for its turn on the device,
 * is evaluated, and then the event loop turns, so sockets, job-lock renewals and other requests keep
 * moving, and the finalizers of the unit's intermediates can run (native memory is freed only then).
 * An aborted signal stops the work between units.
 */
export class PacedWork {
  constructor(
    private readonly turns?: DeviceTurns,
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
