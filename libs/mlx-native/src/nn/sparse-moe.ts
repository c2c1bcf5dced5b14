import { core as mx } from '@frost-beta/mlx';
import type { FeedForward } from './feed-forward';
import type { Linear } from './layers';

/**
 * Mixture of experts with top-k routing (Qwen3-MoE): each token goes through the k experts the
 * router scores highest, and their outputs are summed weighted by the router's probabilities
 * (renormalised over the k when `normTopKProb`).
 *
 * The binding exposes no gather-matmul, so tokens are grouped by expert on the host: one sync
 * per layer to read the routing, then one matmul per active expert over just its tokens. That
 * reads each chosen expert's weights once per forward, prefill or decode, instead of copying
 * k expert matrices per token.
 */
export class SparseMoe implements FeedForward {
  constructor(
    private readonly router: Linear,
    private readonly experts: readonly FeedForward[],
    private readonly topK: number,
    private readonly normTopKProb: boolean,
  ) {}

  forward(x: mx.array): mx.array {
    const [batch, length, hidden] = x.shape;
    const tokens = batch * length;
    const k = this.topK;
    const flat = x.reshape(tokens, hidden);
    const probs = mx.softmax(this.router.forward(flat).astype(mx.float32), -1, true);
    const chosen = mx.argpartition(mx.negative(probs), k - 1, -1).index(mx.Slice(), mx.Slice(0, k));
    let weights = mx.takeAlongAxis(probs, chosen, -1);
    if (this.normTopKProb) {
      weights = mx.divide(weights, mx.sum(weights, -1, true));
    }

    // Assignment a = token·k + slot; group the assignments by expert.
    const expertOf = chosen.flatten().tolist() as number[];
    const byExpert = new Map<number, number[]>();
    expertOf.forEach((expert, assignment) => {
      const list = byExpert.get(expert);
      if (list) {
        list.push(assignment);
      } else {
        byExpert.set(expert, [assignment]);
      }
    });

    const outputs: mx.array[] = [];
    const order = new Int32Array(expertOf.length);
    let row = 0;
    for (const [expert, assignments] of byExpert) {
      const tokenRows = mx.array(assignments.map((a) => Math.floor(a / k)), mx.int32);
      outputs.push(this.experts[expert].forward(mx.take(flat, tokenRows, 0)));
      for (const assignment of assignments) {
        order[assignment] = row++;
      }
    }
    // Back from expert order to [token, slot] order with one gather, then the weighted sum.
    const perSlot = mx
      .take(mx.concatenate(outputs, 0), mx.array(Array.from(order), mx.int32), 0)
      .reshape(tokens, k, hidden);
    const mixed = mx.sum(mx.multiply(perSlot, mx.expandDims(weights, -1).astype(x.dtype)), 1);
    return mixed.reshape(batch, length, hidden);
  }
}
