import { core as mx } from '@frost-beta/mlx';
import type { Gating, Linear } from './layers';

/** The position-wise block of a decoder layer: x [batch, length, hidden] → same shape. */
export interface FeedForward {
  forward(x: mx.array): mx.array;
}

/** Gate and up projections of a gated MLP. */
export type GateUpProjection = (x: mx.array) => [mx.array, mx.array];

export function separateGateUp(gate: Linear, up: Linear): GateUpProjection {
  return (x) => [gate.forward(x), up.forward(x)];
}

/** One matrix for both (Phi-3's gate_up_proj): the first half of its rows is the gate. */
export function fusedGateUp(gateUp: Linear): GateUpProjection {
  return (x) => {
    const [gate, up] = mx.split(gateUp.forward(x), 2, -1);
    return [gate, up];
  };
}

/** GLU-family MLP (SwiGLU, GeGLU): down(act(gate(x)) ⊙ up(x)). */
export class GatedMlp implements FeedForward {
  constructor(
    private readonly gateUp: GateUpProjection,
    private readonly down: Linear,
    private readonly gating: Gating,
  ) {}

  forward(x: mx.array): mx.array {
    const [gate, up] = this.gateUp(x);
    return this.down.forward(this.gating(gate, up));
  }
}
