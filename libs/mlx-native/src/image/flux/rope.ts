import { core as mx } from '@frost-beta/mlx';
import { arrayFromHost } from '../../io/host-arrays';
import { rotateInterleavedPairs } from '../../nn/rope';

/**
 * FLUX's rotary table over three position axes (FluxPosEmbed / BFL's EmbedND): each token has a
 * position per axis (text tokens 0,0,0; image patch (0, row, column)), and each axis rotates its own
 * slice of every head, `axes[i]` wide, with frequencies θ^(−2j/axes[i]). Computed on the host in
 * float64 once per image size. Returns cos and sin [tokens, headDim/2] for interleaved pairs.
 */
export function fluxRopeTable(positions: ReadonlyArray<readonly number[]>, axes: readonly number[], theta: number): { cos: mx.array; sin: mx.array } {
  const half = axes.reduce((a, b) => a + b, 0) / 2;
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  positions.forEach((position, token) => {
    let column = 0;
    axes.forEach((width, axis) => {
      for (let j = 0; j < width / 2; j++) {
        const angle = position[axis] * theta ** ((-2 * j) / width);
        cos[token * half + column] = Math.cos(angle);
        sin[token * half + column] = Math.sin(angle);
        column++;
      }
    });
  });
  return { cos: arrayFromHost(cos, [positions.length, half]), sin: arrayFromHost(sin, [positions.length, half]) };
}

/** Text tokens at (0, 0, 0), then image patches row by row at (0, row, column): FLUX's order of the joint sequence. */
export function fluxPositions(textTokens: number, patchRows: number, patchColumns: number): number[][] {
  const positions: number[][] = Array.from({ length: textTokens }, () => [0, 0, 0]);
  for (let row = 0; row < patchRows; row++) {
    for (let column = 0; column < patchColumns; column++) {
      positions.push([0, row, column]);
    }
  }
  return positions;
}

/** Rotates interleaved pairs of x [batch, heads, tokens, headDim] by the table (see rotateInterleavedPairs). */
export function applyFluxRope(x: mx.array, table: { cos: mx.array; sin: mx.array }): mx.array {
  return rotateInterleavedPairs(x, table.cos, table.sin);
}
