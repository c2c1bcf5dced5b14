/**
 * Turn-taking around one unit of device work (a decode step, an encoder pass). A loop acquires
 * before its step and releases after it, so a scheduler decides which of the concurrent requests
 * of a process, of any kind, computes next.
 */
export interface StepGate {
  acquire(): Promise<void>;
  release(): void;
}

/** Runs `step` between the gate's acquire and release (or at once without a gate). */
export async function gated<T>(gate: StepGate | undefined, step: () => T): Promise<T> {
  await gate?.acquire();
  try {
    return step();
  } finally {
    gate?.release();
  }
}
