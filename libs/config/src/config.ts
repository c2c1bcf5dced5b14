import { homedir, totalmem } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `auto`: human-readable lines on a terminal, JSON lines otherwise (a pipe, a file, a log shipper). */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Everything the processes of the service read from their environment, parsed and validated once. */
export interface OmniConfig {
  host: string;
  port: number;
  /** Absent when the supervisor is to start its own loopback redis-server. */
  redisUrl: string | undefined;
  workers: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  hfHome: string;
  hfHubCache: string;
  /** Holds the private Redis data, worker sockets and anything else the service writes. */
  stateDir: string;
  /** This worker process's name (set by the supervisor); also its socket's file name. */
  workerId: string;
  /** Worker processes listen here, one Unix socket each; the API discovers them by listing it. */
  workerSocketDir: string;
  /** How long SIGTERM waits for in-flight requests before the processes are stopped. */
  shutdownGraceMs: number;
  /** Requests a worker runs or holds at once before the API answers 503. */
  workerMaxPending: number;
  bodyLimitBytes: number;
  /** Largest audio file /v1/audio/transcriptions and /v1/audio/translations accept (413 above it). */
  audioMaxBytes: number;
  /** Readiness fails when the state directory's disk has less free than this. */
  minFreeDiskBytes: number;
  /** Host memory the worker's model pool may fill: weights, the running sequences' KV caches and the prompt cache. */
  memoryBudgetBytes: number;
  /** Sequences one loaded chat model decodes together (continuous batching); past it requests wait. */
  batchMaxRows: number;
  /** Newcomers wait while a model's running sequences hold this many bytes of keys and values. */
  kvCacheBytes: number;
  /** Keys and values of finished sequences kept per chat model for prompts that start the same way; 0 turns reuse off. */
  promptCacheBytes: number;
  /** Reuse cached prefixes across API keys (a shared system prompt); off, a faster first token would tell one key what another sent. */
  promptCacheShared: boolean;
  /** Puts prompt and completion text into the per-request log lines; off, since they may be private. */
  logPrompts: boolean;
  /** One admin key (MLX_OMNI_API_KEY); keys are off when neither this nor keysFile is set. */
  apiKey: string | undefined;
  /** JSON file of hashed keys with names and roles, managed by `mlx-omni-server keys`. */
  keysFile: string | undefined;
  /** The key the CLI sends to the running server (MLX_OMNI_CLI_KEY); the server never reads it. */
  cliKey: string | undefined;
  /** Put /health and /metrics behind a key too (they are open by default, for scrapers). */
  protectOps: boolean;
  /** Origins allowed by CORS; empty: CORS off. `*` allows any. */
  corsOrigins: string[];
  /** Per-key limits shared through Redis; 0 means no limit. */
  rateLimits: { requestsPerMinute: number; tokensPerMinute: number; concurrent: number };
  /** Largest total size of a request's headers. */
  maxHeaderBytes: number;
  /** Tokens a chat completion may generate when the request sets no max_tokens; bounds a runaway generation. */
  defaultMaxTokens: number;
  /** Deepest nesting of arrays and objects a JSON body may have. */
  jsonMaxDepth: number;
  /** Folders of model folders (LM Studio's, say) searched after the hub cache. */
  modelDirs: string[];
  /** Whether a request naming a model that is not cached downloads it first (else 404 naming how to pull). */
  autoDownload: boolean;
  /** Seconds an unused model stays loaded; 0 keeps it until memory is needed. */
  modelIdleTtlS: number;
  /** Model ids every worker loads at start and never evicts. */
  preloadModels: string[];
  /** The Hugging Face Hub (or a mirror) that models are pulled from. */
  hfEndpoint: string;
  /** Sent to the Hub as a bearer token, for gated and private repos. */
  hfToken: string | undefined;
  /**
   * How quantized checkpoints are held: `auto` dequantizes on the CPU backend (its fast path) and keeps
   * them quantized on Metal; `quantized` / `dequantized` force one path (both give the same tokens).
   */
  quantizedWeights: QuantizedWeightsMode;
  /**
   * Linux: workers preload the BLAS shim (libs/mlx-native/native/blas-shim) when it was built, which
   * makes the CPU backend's decode several times faster; off to compare or to rule it out.
   */
  blasShim: boolean;
  /** How long a request for a long job (speech, images) waits for it before answering 202 with the job to poll. */
  jobWaitS: number;
  /** How long the files long jobs produce (images, audio) stay fetchable before they are deleted. */
  artifactTtlS: number;
  /**
   * Other names for local models, checked before the catalog (Claude Code asks for `claude-sonnet-4-5`,
   * and `claude-haiku-*` for background work). A trailing `*` matches any rest of the name.
   */
  modelAliases: ModelAlias[];
  /** Seconds a stored Responses API response (and the conversation behind it) stays fetchable and chainable. */
  responsesTtlS: number;
}

export interface ModelAlias {
  /** The name clients send: exact, or ending in `*` to match every name with that prefix. */
  name: string;
  /** The model id (or folder) it stands for. */
  model: string;
}

export const QUANTIZED_WEIGHTS_MODES = ['auto', 'quantized', 'dequantized'] as const;
export type QuantizedWeightsMode = (typeof QUANTIZED_WEIGHTS_MODES)[number];

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`Invalid configuration: ${setting} ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') {
    return fallback;
  }
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  }
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') {
    return fallback;
  }
  if (raw === 'true' || raw === '1') {
    return true;
  }
  if (raw === 'false' || raw === '0') {
    return false;
  }
  throw new ConfigError(name, `must be true or false, got "${env[name]}"`);
}

function readString(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

function readRedisUrl(env: Env): string | undefined {
  const raw = readString(env, 'REDIS_URL');
  if (raw === undefined) {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('REDIS_URL', `must be a URL such as redis://127.0.0.1:6379, got "${raw}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError('REDIS_URL', `must start with redis:// or rediss://, got "${raw}"`);
  }
  return raw;
}

function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const raw = readString(env, name)?.toLowerCase() ?? fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${choices.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function readHost(env: Env): string {
  const host = readString(env, 'HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) {
    throw new ConfigError('HOST', `must be a host name or IP address, got "${host}"`);
  }
  return host;
}

function readPath(env: Env, name: string): string | undefined {
  const raw = readString(env, name);
  return raw === undefined ? undefined : resolve(raw);
}

function readApiKey(env: Env): string | undefined {
  const key = readString(env, 'MLX_OMNI_API_KEY');
  // A short key can be guessed over the network; generated keys (`mlx-omni-server keys add`) are 48 characters.
  if (key !== undefined && key.length < 16) {
    throw new ConfigError('MLX_OMNI_API_KEY', `must be at least 16 characters, got ${key.length}`);
  }
  return key;
}

function readCorsOrigins(env: Env): string[] {
  const origins = (readString(env, 'MLX_OMNI_CORS_ORIGINS') ?? '').split(',').map((origin) => origin.trim()).filter((origin) => origin !== '');
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[A-Za-z0-9.:\-[\]]+$/.test(origin)) {
      throw new ConfigError('MLX_OMNI_CORS_ORIGINS', `must be * or comma-separated origins such as https://app.example.com, got "${origin}"`);
    }
  }
  return origins;
}

function readWorkerId(env: Env): string {
  const id = readString(env, 'MLX_OMNI_WORKER_ID') ?? `worker-${process.pid}`;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new ConfigError('MLX_OMNI_WORKER_ID', `must be 1-64 letters, digits, "-" or "_", got "${id}"`);
  }
  return id;
}

/** A list in one variable; `separator` splits it and empty items are dropped. */
function readList(env: Env, name: string, separator: string): string[] {
  return (readString(env, name) ?? '')
    .split(separator)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `name=model` pairs separated by commas; a name may end in `*`. The first matching alias wins. */
function readModelAliases(env: Env): ModelAlias[] {
  return readList(env, 'MLX_OMNI_MODEL_ALIASES', ',').map((item) => {
    const match = /^([^=\s]+)\s*=\s*(\S+)$/.exec(item);
    if (match === null || match[1].slice(0, -1).includes('*')) {
      throw new ConfigError('MLX_OMNI_MODEL_ALIASES', `must be comma-separated name=model pairs (a name may end in *), got "${item}"`);
    }
    return { name: match[1], model: match[2] };
  });
}

function readHttpUrl(env: Env, name: string, fallback: string): string {
  const raw = readString(env, name) ?? fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL such as ${fallback}, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `must start with http:// or https://, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

/**
 * Reads the service's settings from an environment (process.env in production).
 * Throws a ConfigError naming the setting when a value is unusable, so start-up fails with one sentence.
 */
export function loadConfig(env: Env = process.env): OmniConfig {
  const hfHome = resolve(readString(env, 'HF_HOME') ?? join(homedir(), '.cache', 'huggingface'));
  const stateDir = resolve(readString(env, 'MLX_OMNI_STATE_DIR') ?? join(homedir(), '.local', 'state', 'mlx-omni-server'));
  const gib = 1024 ** 3;
  return {
    host: readHost(env),
    port: readInteger(env, 'PORT', 10240, 0, 65535),
    redisUrl: readRedisUrl(env),
    workers: readInteger(env, 'WORKERS', 1, 1, 64),
    logLevel: readChoice(env, 'MLX_OMNI_LOG_LEVEL', LOG_LEVELS, 'info'),
    logFormat: readChoice(env, 'MLX_OMNI_LOG_FORMAT', LOG_FORMATS, 'auto'),
    hfHome,
    hfHubCache: resolve(readString(env, 'HF_HUB_CACHE') ?? join(hfHome, 'hub')),
    stateDir,
    workerId: readWorkerId(env),
    workerSocketDir: resolve(readString(env, 'MLX_OMNI_WORKER_SOCKET_DIR') ?? join(stateDir, 'workers')),
    shutdownGraceMs: readInteger(env, 'MLX_OMNI_SHUTDOWN_GRACE_MS', 30_000, 0, 3_600_000),
    workerMaxPending: readInteger(env, 'MLX_OMNI_WORKER_MAX_PENDING', 16, 1, 10_000),
    bodyLimitBytes: readInteger(env, 'MLX_OMNI_BODY_LIMIT_BYTES', 32 * 1024 * 1024, 1024, 1024 ** 3),
    // OpenAI's limit, so clients that split long audio for it keep working unchanged.
    audioMaxBytes: readInteger(env, 'MLX_OMNI_AUDIO_MAX_BYTES', 25 * 1024 * 1024, 1, 16 * 1024 ** 3),
    minFreeDiskBytes: readInteger(env, 'MLX_OMNI_MIN_FREE_DISK_BYTES', gib, 0, Number.MAX_SAFE_INTEGER),
    // Three quarters leaves the OS, the API and the KV caches room on a shared machine.
    memoryBudgetBytes: readInteger(env, 'MLX_OMNI_MEMORY_BUDGET_BYTES', Math.floor(totalmem() * 0.75), 0, Number.MAX_SAFE_INTEGER),
    batchMaxRows: readInteger(env, 'MLX_OMNI_BATCH_MAX_ROWS', 16, 1, 1024),
    kvCacheBytes: readInteger(env, 'MLX_OMNI_KV_CACHE_BYTES', 4 * gib, 0, Number.MAX_SAFE_INTEGER),
    promptCacheBytes: readInteger(env, 'MLX_OMNI_PROMPT_CACHE_BYTES', gib, 0, Number.MAX_SAFE_INTEGER),
    promptCacheShared: readBoolean(env, 'MLX_OMNI_PROMPT_CACHE_SHARED', false),
    logPrompts: readBoolean(env, 'MLX_OMNI_LOG_PROMPTS', false),
    apiKey: readApiKey(env),
    keysFile: readPath(env, 'MLX_OMNI_KEYS_FILE'),
    cliKey: readString(env, 'MLX_OMNI_CLI_KEY'),
    protectOps: readBoolean(env, 'MLX_OMNI_PROTECT_OPS', false),
    corsOrigins: readCorsOrigins(env),
    rateLimits: {
      requestsPerMinute: readInteger(env, 'MLX_OMNI_RATE_LIMIT_RPM', 0, 0, 1_000_000),
      tokensPerMinute: readInteger(env, 'MLX_OMNI_RATE_LIMIT_TPM', 0, 0, 1_000_000_000),
      concurrent: readInteger(env, 'MLX_OMNI_RATE_LIMIT_CONCURRENT', 0, 0, 100_000),
    },
    maxHeaderBytes: readInteger(env, 'MLX_OMNI_MAX_HEADER_BYTES', 16 * 1024, 1024, 1024 * 1024),
    jsonMaxDepth: readInteger(env, 'MLX_OMNI_JSON_MAX_DEPTH', 64, 2, 10_000),
    // Random or looping weights can run to the context length: a request naming no limit stops here.
    defaultMaxTokens: readInteger(env, 'MLX_OMNI_DEFAULT_MAX_TOKENS', 4096, 1, 10_000_000),
    // The PATH convention (":" on macOS and Linux), so a folder name may hold commas.
    modelDirs: readList(env, 'MLX_OMNI_MODEL_DIRS', delimiter).map((dir) => resolve(dir)),
    autoDownload: readBoolean(env, 'MLX_OMNI_AUTO_DOWNLOAD', false),
    modelIdleTtlS: readInteger(env, 'MLX_OMNI_MODEL_IDLE_TTL_S', 0, 0, 365 * 24 * 3600),
    preloadModels: readList(env, 'MLX_OMNI_PRELOAD_MODELS', ','),
    // The names huggingface_hub reads, so one setting serves the Python tools and this server.
    hfEndpoint: readHttpUrl(env, 'HF_ENDPOINT', 'https://huggingface.co'),
    hfToken: readString(env, 'HF_TOKEN'),
    quantizedWeights: readChoice(env, 'MLX_OMNI_QUANTIZED_WEIGHTS', QUANTIZED_WEIGHTS_MODES, 'auto'),
    blasShim: readBoolean(env, 'MLX_OMNI_BLAS_SHIM', true),
    // Long enough for a CPU-rendered image, short enough that a stuck job does not hold a client forever.
    jobWaitS: readInteger(env, 'MLX_OMNI_JOB_WAIT_S', 300, 0, 24 * 3600),
    // OpenAI's image URLs expire after an hour too.
    artifactTtlS: readInteger(env, 'MLX_OMNI_ARTIFACT_TTL_S', 3600, 60, 30 * 24 * 3600),
    modelAliases: readModelAliases(env),
    // OpenAI keeps stored responses for 30 days.
    responsesTtlS: readInteger(env, 'MLX_OMNI_RESPONSES_TTL_S', 30 * 24 * 3600, 60, 365 * 24 * 3600),
  };
}

/** The API and workers need Redis; only the supervisor may start without it (it then starts its own). */
export function requireRedisUrl(config: OmniConfig): string {
  if (config.redisUrl === undefined) {
    throw new ConfigError('REDIS_URL', 'must be set for this process (mlx-omni-server sets it when it starts its own Redis)');
  }
  return config.redisUrl;
}

/**
 * Loads the configuration for a process's main(), turning a ConfigError into one line on stderr
 * and exit code 2, so a bad setting never shows up as a stack trace.
 */
export function loadConfigOrExit(processName: string, env: Env = process.env, check?: (config: OmniConfig) => void): OmniConfig {
  try {
    const config = loadConfig(env);
    check?.(config);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${processName}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
