import type { ChatGenerateMethod, TextGenerateMethod } from './generation-protocol';
import type { IpcProtocol, UnaryMethod } from './protocol';

export interface LoadedModelInfo {
  id: string;
  loadedAt: string;
  sizeBytes: number;
}

/** What a worker says about itself; the API's worker registry routes and reports by it. */
export interface WorkerStatus {
  workerId: string;
  pid: number;
  device: 'cpu' | 'gpu';
  deviceInfo: Record<string, string | number>;
  startedAt: string;
  /** True once SIGTERM arrived: the worker finishes what it has and takes nothing new. */
  draining: boolean;
  activeRequests: number;
  maxPending: number;
  loadedModels: LoadedModelInfo[];
  memory: {
    rssBytes: number;
    heapUsedBytes: number;
    mlxActiveBytes: number;
    mlxPeakBytes: number;
    mlxCacheBytes: number;
  };
}

/** The methods every inference worker serves on its socket. Later capabilities add entries here. */
export interface WorkerProtocol extends IpcProtocol {
  unary: {
    ping: UnaryMethod<Record<string, never>, { workerId: string; at: number }>;
    status: UnaryMethod<Record<string, never>, WorkerStatus>;
  };
  stream: {
    'chat.generate': ChatGenerateMethod;
    'text.generate': TextGenerateMethod;
  };
}

/** Workers listen on `<socket dir>/<worker id>.sock`; the suffix is how the API recognises them. */
export const WORKER_SOCKET_SUFFIX = '.sock';
