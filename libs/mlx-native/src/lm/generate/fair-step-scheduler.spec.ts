import { FairStepScheduler, type StepGate } from './fair-step-scheduler';

/** Runs `steps` gated steps for a request, recording `name` each time it computes. */
async function run(gate: StepGate, name: string, steps: number, log: string[]): Promise<void> {
  for (let step = 0; step < steps; step++) {
    await gate.acquire();
    log.push(name);
    gate.release();
    // Like the generation loop: yield to the event loop between steps.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('FairStepScheduler', () => {
  it('alternates steps between callers, however many requests each has', async () => {
    const scheduler = new FairStepScheduler();
    const log: string[] = [];
    await Promise.all([
      run(scheduler.lane('busy-key'), 'a1', 4, log),
      run(scheduler.lane('busy-key'), 'a2', 4, log),
      run(scheduler.lane('busy-key'), 'a3', 4, log),
      run(scheduler.lane('other-key'), 'b', 4, log),
    ]);
    // While both keys wait, they alternate: the lone request of other-key gets every other step.
    const firstEight = log.slice(0, 8);
    expect(firstEight.filter((name) => name === 'b')).toHaveLength(4);
    expect(firstEight.filter((name) => name.startsWith('a'))).toHaveLength(4);
    // The busy key's own requests take its turns in order.
    const busyTurns = log.filter((name) => name.startsWith('a'));
    expect(busyTurns.slice(0, 3).sort()).toEqual(['a1', 'a2', 'a3']);
    expect(log).toHaveLength(16);
  });

  it('lets a lone request through without waiting', async () => {
    const scheduler = new FairStepScheduler();
    const gate = scheduler.lane('solo');
    await gate.acquire();
    gate.release();
    await expect(Promise.race([gate.acquire().then(() => 'acquired'), new Promise((resolve) => setImmediate(() => resolve('blocked')))])).resolves.toBe(
      'acquired',
    );
  });

  it('hands the step to a waiting request only when the holder releases', async () => {
    const scheduler = new FairStepScheduler();
    const first = scheduler.lane('x');
    const second = scheduler.lane('y');
    await first.acquire();
    let secondRan = false;
    const waiting = second.acquire().then(() => {
      secondRan = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondRan).toBe(false);
    first.release();
    await waiting;
    expect(secondRan).toBe(true);
  });
});
