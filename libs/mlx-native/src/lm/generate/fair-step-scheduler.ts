import type { StepGate } from '../../runtime/step-gate';

export type { StepGate } from '../../runtime/step-gate';

/**
 * Shares a worker's compute fairly between callers (API keys), not between requests: each step goes
 * to the waiting caller that has had the fewest steps so far (the least recently served on a tie),
 * and a caller's own requests take its turns in order. One key with ten streams then gets as many
 * steps as another key with one, where plain event-loop order would give it ten times as many.
 */
export class FairStepScheduler {
  private busy = false;
  private dispatchScheduled = false;
  /** Per caller, the requests waiting for a step, oldest first. */
  private readonly waiting = new Map<string, Array<() => void>>();
  /** Steps each caller got since the scheduler was last idle, and when it last got one. */
  private readonly served = new Map<string, { steps: number; lastTurn: number }>();
  private turns = 0;

  /** The gate one request of `caller` passes through before each of its steps. */
  lane(caller: string): StepGate {
    return { acquire: () => this.acquire(caller), release: () => this.release() };
  }

  private acquire(caller: string): Promise<void> {
    return new Promise((resolve) => {
      const queue = this.waiting.get(caller);
      if (queue === undefined) {
        this.waiting.set(caller, [resolve]);
      } else {
        queue.push(resolve);
      }
      if (!this.served.has(caller)) {
        // A newcomer starts level with the least served caller, neither owed a backlog nor behind.
        const least = Math.min(...[...this.served.values()].map((entry) => entry.steps));
        this.served.set(caller, { steps: Number.isFinite(least) ? least : 0, lastTurn: -1 });
      }
      this.scheduleDispatch();
    });
  }

  private release(): void {
    this.busy = false;
    if (this.waiting.size === 0) {
      // Idle: nobody is owed anything any more.
      this.served.clear();
    }
    this.scheduleDispatch();
  }

  /**
   * A step is synchronous, so while one runs no other request can even ask for the next. Deciding
   * one macrotask later lets every request that finished its previous step queue up first; deciding
   * at once would simply hand the step to whoever the event loop resumed first.
   */
  private scheduleDispatch(): void {
    if (this.dispatchScheduled || this.busy || this.waiting.size === 0) {
      return;
    }
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.busy) {
      return;
    }
    let chosen: string | undefined;
    for (const caller of this.waiting.keys()) {
      if (chosen === undefined || this.before(caller, chosen)) {
        chosen = caller;
      }
    }
    if (chosen === undefined) {
      return;
    }
    const queue = this.waiting.get(chosen)!;
    const next = queue.shift()!;
    if (queue.length === 0) {
      this.waiting.delete(chosen);
    }
    const entry = this.served.get(chosen)!;
    entry.steps += 1;
    entry.lastTurn = this.turns++;
    this.busy = true;
    next();
  }

  private before(a: string, b: string): boolean {
    const left = this.served.get(a)!;
    const right = this.served.get(b)!;
    return left.steps < right.steps || (left.steps === right.steps && left.lastTurn < right.lastTurn);
  }
}
