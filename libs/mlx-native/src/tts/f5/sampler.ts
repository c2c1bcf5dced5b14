import { core as mx } from '@frost-beta/mlx';

/**
 * F5's sway sampling: `points` times evenly spaced on [0, 1], then t + s·(cos(πt/2) − 1 + t). A negative
 * coefficient crowds the steps near t = 0, where the flow from noise decides the most.
 */
export function swayedTimes(points: number, coefficient: number): number[] {
  return Array.from({ length: points }, (_, i) => {
    const t = points === 1 ? 0 : i / (points - 1);
    return t + coefficient * (Math.cos((Math.PI / 2) * t) - 1 + t);
  });
}

/**
 * Integrates dy/dt = f(t, y) from times[0] to the last time with the classic fourth-order Runge-Kutta
 * method, one step between consecutive times (f5-tts-mlx's odeint_rk4). `f` evaluates what it returns
 * (a unit of paced work each); the points it is asked at are left lazy, computed inside that unit.
 */
export async function rk4(f: (t: number, y: mx.array) => Promise<mx.array>, y0: mx.array, times: readonly number[]): Promise<mx.array> {
  let y = y0;
  for (let i = 0; i + 1 < times.length; i++) {
    const t = times[i];
    const dt = times[i + 1] - t;
    const current = y;
    const k1 = await f(t, current);
    const k2 = await f(t + dt / 2, mx.add(current, mx.multiply(k1, dt / 2)));
    const k3 = await f(t + dt / 2, mx.add(current, mx.multiply(k2, dt / 2)));
    const k4 = await f(t + dt, mx.add(current, mx.multiply(k3, dt)));
    y = mx.add(current, mx.multiply(mx.add(mx.add(k1, k4), mx.multiply(mx.add(k2, k3), 2)), dt / 6));
  }
  return y;
}
