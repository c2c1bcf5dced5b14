import { core as mx } from '@frost-beta/mlx';
import type { FeedForward } from './feed-forward';
import type { Linear } from './layers';

/** Which k experts each token goes to, and with what weight: both [tokens, k]. */
export interface Routing {
  experts: mx.array;
  weights: mx.array;
}

/** Routes flattened tokens [tokens, hidden]. */
export type Router = (x: mx.array) => Routing;

function topKIndices(scores: mx.array, k: number): mx.array {
  return mx.argpartition(mx.negative(scores), k - 1, -1).index(mx.Slice(), mx.Slice(0, k));
}

/** Qwen3-MoE, Mixtral: softmax over all experts, the k most probable, optionally renormalised over those k. */
export function softmaxTopK(gate: Linear, k: number, normalize: boolean): Router {
  return (x) => {
    const probs = mx.softmax(gate.forward(x).astype(mx.float32), -1, true);
    const experts = topKIndices(probs, k);
    const weights = mx.takeAlongAxis(probs, experts, -1);
    return { experts, weights: normalize ? mx.divide(weights, mx.sum(weights, -1, true)) : weights };
  };
}

/** gpt-oss: the k highest router logits, then a softmax over those k alone. */
export function topKSoftmax(gate: Linear, k: number): Router {
  return (x) => {
    const logits = gate.forward(x).astype(mx.float32);
    const experts = topKIndices(logits, k);
    return { experts, weights: mx.softmax(mx.takeAlongAxis(logits, experts, -1), -1, true) };
  };
}

export interface GroupedSigmoidRouting {
  /** Router weight [experts, hidden] (a plain matrix, not a linear module, in these checkpoints). */
  weight: mx.array;
  /** Added to the scores for choosing experts only, never to their weights ("aux-loss-free" balancing). */
  correctionBias: mx.array;
  k: number;
  groups: number;
  topKGroups: number;
  normalize: boolean;
  scale: number;
}

/**
 * GLM-4.5 and DeepSeek-V3 (`noaux_tc`): sigmoid scores; experts come in groups, and only the
 * `topKGroups` groups with the highest sum of their two best biased scores stay eligible; the k
 * best biased scores among those are chosen, weighted by their unbiased scores (renormalised when
 * asked) times `scale`.
 */
export function groupedSigmoidTopK(r: GroupedSigmoidRouting): Router {
  const weightT = r.weight.T;
  return (x) => {
    const scores = mx.sigmoid(mx.matmul(x, weightT).astype(mx.float32));
    let biased = mx.add(scores, r.correctionBias.astype(mx.float32));
    if (r.groups > 1) {
      const [tokens, experts] = biased.shape;
      const grouped = biased.reshape(tokens, r.groups, experts / r.groups);
      const bestTwo = mx.sum(mx.takeAlongAxis(grouped, topKIndices(grouped, 2), -1), -1);
      // The topKGroups-th best group score is the bar; groups below it are out (their scores zeroed, as upstream).
      const bar = mx.sort(bestTwo, -1).index(mx.Slice(), mx.Slice(r.groups - r.topKGroups, r.groups - r.topKGroups + 1));
      const eligible = mx.expandDims(mx.greaterEqual(bestTwo, bar), -1);
      biased = mx.where(eligible, grouped, mx.array(0, mx.float32)).reshape(tokens, experts);
    }
    const chosen = topKIndices(biased, r.k);
    let weights = mx.takeAlongAxis(scores, chosen, -1);
    if (r.k > 1 && r.normalize) {
      weights = mx.divide(weights, mx.sum(weights, -1, true));
    }
    return { experts: chosen, weights: mx.multiply(weights, r.scale) };
  };
}

/**
 * Mixture of experts: each token goes through the k experts its router picks, and their outputs
 * are summed with the router's weights.
 *
 * The binding exposes no gather-matmul, so tokens are grouped by expert on the host: one sync
 * per layer to read the routing, then one matmul per active expert over just its tokens. That
 * reads each chosen expert's weights once per forward, prefill or decode, instead of copying
 * k expert matrices per token.
 */
export class SparseMoe implements FeedForward {
  constructor(
    private readonly router: Router,
    private readonly experts: readonly FeedForward[],
    private readonly topK: number,
  ) {}

  forward(x: mx.array): mx.array {
    const [batch, length, hidden] = x.shape;
    const tokens = batch * length;
    const k = this.topK;
    const flat = x.reshape(tokens, hidden);
    const { experts: chosen, weights } = this.router(flat);

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

/** Feed-forward blocks applied side by side and summed (routed experts plus always-on shared experts). */
export class SummedFeedForward implements FeedForward {
  constructor(private readonly parts: readonly FeedForward[]) {}

  forward(x: mx.array): mx.array {
    return this.parts.map((part) => part.forward(x)).reduce((sum, y) => mx.add(sum, y));
  }
}
