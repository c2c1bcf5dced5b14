import { core as mx } from '@frost-beta/mlx';
import type { PacedWork } from '../runtime/paced-work';

/** One direction of a PyTorch LSTM layer: gates stacked i, f, g, o. */
export interface LstmDirectionWeights {
  /** [4·hidden, input] */
  weightIh: mx.array;
  /** [4·hidden, hidden] */
  weightHh: mx.array;
  /** [4·hidden] each; PyTorch adds both. */
  biasIh?: mx.array;
  biasHh?: mx.array;
}

/** Steps evaluated per unit of paced work: long enough to amortise the dispatch, short enough to share the device. */
const STEPS_PER_UNIT = 64;

/**
 * One step of both directions: gates = x·Wᵢ + b (precomputed) + h·Wₕ, then c' = σ(f)·c + σ(i)·tanh(g),
 * h' = σ(o)·tanh(c'). Compiled into one call: the recurrence is sequential, so per-step dispatch is its cost.
 */
const lstmStep = mx.compile((projected: mx.array, hidden: mx.array, cell: mx.array, recurrentT: mx.array) => {
  const gates = mx.add(projected, mx.matmul(hidden, recurrentT));
  const [i, f, g, o] = mx.split(gates, 4, -1);
  const next = mx.add(mx.multiply(mx.sigmoid(f), cell), mx.multiply(mx.sigmoid(i), mx.tanh(g)));
  return [mx.multiply(mx.sigmoid(o), mx.tanh(next)), next];
});

/**
 * A single-layer bidirectional LSTM with PyTorch's semantics (zero initial states; output the forward
 * and backward hidden states concatenated, each aligned with its input step). Both directions advance
 * together as a batch of two, the backward one over the time-reversed input.
 */
export class BiLstm {
  private readonly hidden: number;
  /** [2, input, 4·hidden]: the input projections of both directions, transposed for x·W. */
  private readonly inputWeightsT: mx.array;
  /** [2, 1, 4·hidden] */
  private readonly biases: mx.array;
  /** [2, hidden, 4·hidden] */
  private readonly recurrentWeightsT: mx.array;

  constructor(forward: LstmDirectionWeights, backward: LstmDirectionWeights) {
    this.hidden = forward.weightHh.shape[1];
    const bias = (d: LstmDirectionWeights) => {
      const zero = mx.zeros([4 * this.hidden]);
      return mx.add(d.biasIh ?? zero, d.biasHh ?? zero);
    };
    this.inputWeightsT = mx.stack([forward.weightIh.T, backward.weightIh.T]);
    // Stacking copies, so the checkpoint's own tensors can be let go.
    this.biases = mx.stack([bias(forward), bias(backward)]).reshape(2, 1, 4 * this.hidden);
    this.recurrentWeightsT = mx.stack([forward.weightHh.T, backward.weightHh.T]);
    mx.eval(this.inputWeightsT, this.biases, this.recurrentWeightsT);
  }

  /** The arrays the layer holds (its weights restacked for the batched recurrence). */
  get parameters(): mx.array[] {
    return [this.inputWeightsT, this.biases, this.recurrentWeightsT];
  }

  /** x [length, input] → [length, 2·hidden]. */
  async forward(x: mx.array, work: PacedWork): Promise<mx.array> {
    const length = x.shape[0];
    const reversed = mx.arange(length - 1, -1, -1, mx.int32);
    const projected = await work.run(() =>
      mx.add(mx.matmul(mx.stack([x, mx.take(x, reversed, 0)]), this.inputWeightsT), this.biases),
    );
    let h = mx.zeros([2, 1, this.hidden]);
    let c = mx.zeros([2, 1, this.hidden]);
    const blocks: mx.array[] = [];
    for (let start = 0; start < length; start += STEPS_PER_UNIT) {
      const end = Math.min(length, start + STEPS_PER_UNIT);
      const block = await work.run(() => {
        const inputs = mx.split(projected.index(mx.Slice(), mx.Slice(start, end)), end - start, 1);
        const steps: mx.array[] = [];
        for (const input of inputs) {
          [h, c] = lstmStep(input, h, c, this.recurrentWeightsT) as unknown as [mx.array, mx.array];
          steps.push(h);
        }
        return [mx.concatenate(steps, 1), h, c];
      });
      blocks.push(block[0]);
    }
    return work.run(() => {
      const states = mx.concatenate(blocks, 1);
      const forwardStates = states.index(0);
      const backwardStates = mx.take(states.index(1), reversed, 0);
      return mx.concatenate([forwardStates, backwardStates], -1);
    });
  }
}
