import { core as mx } from '@frost-beta/mlx';

export type MlxDeviceKind = 'cpu' | 'gpu';

/** What a worker reports about the MLX backend it runs on. */
export interface MlxRuntimeInfo {
  device: MlxDeviceKind;
  /** Metal's device name and limits; empty on the CPU backend, which has no such query. */
  deviceInfo: Record<string, string | number>;
  /** Bytes held by MLX's allocator (Metal only; the CPU backend allocates through malloc and reports 0). */
  activeMemoryBytes: number;
  peakMemoryBytes: number;
  cacheMemoryBytes: number;
}

export function mlxRuntimeInfo(): MlxRuntimeInfo {
  const gpu = mx.metal.isAvailable();
  return {
    device: gpu ? 'gpu' : 'cpu',
    deviceInfo: gpu ? mx.metal.deviceInfo() : {},
    activeMemoryBytes: mx.metal.getActiveMemory(),
    peakMemoryBytes: mx.metal.getPeakMemory(),
    cacheMemoryBytes: mx.metal.getCacheMemory(),
  };
}
