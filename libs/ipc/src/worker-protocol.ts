import type { EmbeddingsCreateMethod, RerankMethod } from './embedding-protocol';
import type { ChatCountTokensMethod, ChatGenerateMethod, TextGenerateMethod } from './generation-protocol';
import type { IpcProtocol, UnaryMethod } from './protocol';
import type { TranscribeMethod } from './transcription-protocol';

export interface LoadedModelInfo {
  id: string;
  /** The folder it was loaded from (for the hub cache: the snapshot). */
  path: string;
  loadedAt: string;
  /** What it takes of the pool's memory budget. */
  sizeBytes: number;
  loadSeconds: number;
  /** Preloaded at start and never evicted. */
  pinned: boolean;
  /** Requests using it now; a model in use is never evicted or unloaded. */
  activeRequests: number;
  lastUsedAt: string;
  /** A chat model's batch engine and prompt cache. */
  batch?: BatchStatus;
}

/** A chat model's continuous batching, as its worker reports it. */
export interface BatchStatus {
  /** Requests in the batch (prefilling or decoding) and requests waiting for a place in it. */
  running: number;
  waiting: number;
  /** Sequences decoding now (a request with `n` choices has `n`), and the most there may be. */
  rows: number;
  maxRows: number;
  /** Keys and values the running sequences hold, and the bytes past which newcomers wait (null: no limit). */
  kvBytes: number;
  kvLimitBytes: number | null;
  promptCacheBytes: number;
  promptCacheLimitBytes: number;
  /** Since load: prompt-cache lookups, prompt tokens they covered, and tokens served from the cache. */
  prefixCacheQueries: number;
  prefixCacheQueriedTokens: number;
  prefixCacheHitTokens: number;
  /** Decode steps run, by the number of rows: entry b counts steps over b rows. */
  stepsByBatchSize: number[];
}

/** The worker's model pool: its memory budget and how often it had to unload a model. */
export interface ModelPoolStatus {
  budgetBytes: number;
  usedBytes: number;
  /** lru: to make room for another model; ttl: idle too long; admin: the unload route. */
  evictions: { lru: number; ttl: number; admin: number };
}

/** A model for the worker to load: the API resolves ids to folders, so workers never disagree on what an id names. */
export interface ModelRef {
  id: string;
  path: string;
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
  modelPool: ModelPoolStatus;
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
    'model.load': UnaryMethod<ModelRef, LoadedModelInfo>;
    /** Unloads every model loaded under this id or folder; 409 model_in_use while requests use it. */
    'model.unload': UnaryMethod<{ id: string }, { unloaded: boolean }>;
    'chat.count_tokens': ChatCountTokensMethod;
    /** Short work, answered whole: one vector per input. */
    'embeddings.create': EmbeddingsCreateMethod;
    rerank: RerankMethod;
    /** Stops a long job this worker is running (its processor sees an aborted signal); false when it runs none by that id. */
    'job.cancel': UnaryMethod<{ jobId: string; reason: string }, { cancelled: boolean }>;
  };
  stream: {
    'chat.generate': ChatGenerateMethod;
    'text.generate': TextGenerateMethod;
    /** Segments stream back as each 30-second window is decoded. */
    'audio.transcribe': TranscribeMethod;
  };
}

/** Workers listen on `<socket dir>/<worker id>.sock`; the suffix is how the API recognises them. */
export const WORKER_SOCKET_SUFFIX = '.sock';
