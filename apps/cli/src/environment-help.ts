import { LOG_FORMATS, LOG_LEVELS, loadConfig, type OmniConfig } from '@mlx-omni/config';

interface EnvironmentVariable {
  name: string;
  /** Defaults come from loadConfig itself, so the help cannot drift from what the service does. */
  describe(defaults: OmniConfig): string;
}

const GIB = 1024 ** 3;
const gib = (bytes: number): string => `${(bytes / GIB).toFixed(1)} GiB`;

/** Every variable loadConfig reads (a unit test holds this list to that). */
export const ENVIRONMENT_VARIABLES: readonly EnvironmentVariable[] = [
  { name: 'PORT', describe: (d) => `HTTP port of the API (default ${d.port})` },
  { name: 'HOST', describe: (d) => `address the API listens on (default ${d.host})` },
  { name: 'REDIS_URL', describe: () => 'Redis for the job queues, e.g. redis://127.0.0.1:6379 (default: start a private redis-server on loopback)' },
  { name: 'WORKERS', describe: (d) => `inference worker processes (default ${d.workers})` },
  { name: 'MLX_OMNI_LOG_LEVEL', describe: (d) => `${LOG_LEVELS.join(', ')} (default ${d.logLevel})` },
  { name: 'MLX_OMNI_LOG_FORMAT', describe: (d) => `${LOG_FORMATS.join(', ')}: auto is readable lines on a terminal, JSON lines otherwise (default ${d.logFormat})` },
  { name: 'HF_HOME', describe: (d) => `Hugging Face home (default ${d.hfHome})` },
  { name: 'HF_HUB_CACHE', describe: () => 'model cache in the Hugging Face layout (default $HF_HOME/hub)' },
  { name: 'MLX_OMNI_STATE_DIR', describe: (d) => `private Redis data and worker sockets (default ${d.stateDir})` },
  { name: 'MLX_OMNI_WORKER_SOCKET_DIR', describe: () => 'where workers listen, one Unix socket each (default $MLX_OMNI_STATE_DIR/workers)' },
  { name: 'MLX_OMNI_SHUTDOWN_GRACE_MS', describe: (d) => `time in-flight requests get to finish on SIGTERM (default ${d.shutdownGraceMs})` },
  { name: 'MLX_OMNI_BATCH_MAX_ROWS', describe: (d) => `sequences a chat model decodes together; past it requests wait (default ${d.batchMaxRows})` },
  { name: 'MLX_OMNI_KV_CACHE_BYTES', describe: (d) => `newcomers wait while a model's running sequences hold this much KV cache (default ${gib(d.kvCacheBytes)})` },
  { name: 'MLX_OMNI_PROMPT_CACHE_BYTES', describe: (d) => `KV of finished sequences kept per chat model for reuse; 0 turns it off (default ${gib(d.promptCacheBytes)})` },
  { name: 'MLX_OMNI_PROMPT_CACHE_SHARED', describe: () => 'reuse cached prompt prefixes across API keys (default false: each key its own)' },
  { name: 'MLX_OMNI_WORKER_MAX_PENDING', describe: (d) => `requests a worker runs or queues before the API answers 503 (default ${d.workerMaxPending})` },
  { name: 'MLX_OMNI_BODY_LIMIT_BYTES', describe: (d) => `largest request body (default ${d.bodyLimitBytes})` },
  { name: 'MLX_OMNI_AUDIO_MAX_BYTES', describe: (d) => `largest audio upload for /v1/audio (default ${d.audioMaxBytes})` },
  { name: 'MLX_OMNI_MIN_FREE_DISK_BYTES', describe: (d) => `readiness fails below this much free disk (default ${gib(d.minFreeDiskBytes)})` },
  { name: 'MLX_OMNI_LOG_PROMPTS', describe: (d) => `true: put prompt and completion text in the request log lines (default ${d.logPrompts})` },
  { name: 'MLX_OMNI_MEMORY_BUDGET_BYTES', describe: (d) => `memory the loaded models may fill (default 3/4 of RAM, ${gib(d.memoryBudgetBytes)} here)` },
  { name: 'MLX_OMNI_MODEL_IDLE_TTL_S', describe: (d) => `seconds an unused model stays loaded, 0 = until memory is needed (default ${d.modelIdleTtlS})` },
  { name: 'MLX_OMNI_PRELOAD_MODELS', describe: () => 'comma-separated model ids every worker loads at start and never evicts (default: none)' },
  { name: 'MLX_OMNI_MODEL_DIRS', describe: () => 'extra folders of model folders, ":"-separated, searched after the hub cache (default: none)' },
  { name: 'MLX_OMNI_AUTO_DOWNLOAD', describe: (d) => `true: a request naming a model that is not cached pulls it first (default ${d.autoDownload})` },
  { name: 'HF_ENDPOINT', describe: (d) => `the Hugging Face Hub or a mirror that models are pulled from (default ${d.hfEndpoint})` },
  { name: 'HF_TOKEN', describe: () => 'Hub token for gated and private models (default: none)' },
  { name: 'MLX_OMNI_BLAS_SHIM', describe: (d) => `Linux: false stops workers preloading the BLAS shim that speeds up CPU decoding (default ${d.blasShim})` },
  { name: 'MLX_OMNI_QUANTIZED_WEIGHTS', describe: (d) => `auto (dequantize on CPU, keep quantized on Metal), quantized or dequantized (default ${d.quantizedWeights})` },
  { name: 'MLX_OMNI_JOB_WAIT_S', describe: (d) => `seconds a speech or image request waits for its job before answering 202 with the job to poll (default ${d.jobWaitS})` },
  { name: 'MLX_OMNI_ARTIFACT_TTL_S', describe: (d) => `seconds the files jobs produce (images, audio) stay fetchable at /v1/files/{id}/content (default ${d.artifactTtlS})` },
  { name: 'MLX_OMNI_MODEL_ALIASES', describe: () => 'other names for models, e.g. claude-sonnet-4-5=org/model,claude-haiku-*=org/small (default: none)' },
  { name: 'MLX_OMNI_RESPONSES_TTL_S', describe: (d) => `seconds a stored /v1/responses response stays fetchable and chainable (default ${d.responsesTtlS})` },
  { name: 'MLX_OMNI_API_KEY', describe: () => 'one admin API key, at least 16 characters (default: no keys, the API is open)' },
  { name: 'MLX_OMNI_KEYS_FILE', describe: () => 'file of named, hashed keys managed with "mlx-omni-server keys" (default: none)' },
  { name: 'MLX_OMNI_CLI_KEY', describe: () => 'the key the CLI sends to the running server (--api-key overrides it; default: MLX_OMNI_API_KEY)' },
  { name: 'MLX_OMNI_PROTECT_OPS', describe: () => 'true: /health and /metrics need a key too (default false)' },
  { name: 'MLX_OMNI_CORS_ORIGINS', describe: () => 'comma-separated origins browsers may call from, or * (default: CORS off)' },
  { name: 'MLX_OMNI_RATE_LIMIT_RPM', describe: (d) => `requests per minute per key, 0 = no limit (default ${d.rateLimits.requestsPerMinute})` },
  { name: 'MLX_OMNI_RATE_LIMIT_TPM', describe: (d) => `generated tokens per minute per key, 0 = no limit (default ${d.rateLimits.tokensPerMinute})` },
  { name: 'MLX_OMNI_RATE_LIMIT_CONCURRENT', describe: (d) => `requests in flight per key, 0 = no limit (default ${d.rateLimits.concurrent})` },
  { name: 'MLX_OMNI_MAX_HEADER_BYTES', describe: (d) => `largest total size of a request's headers (default ${d.maxHeaderBytes})` },
  { name: 'MLX_OMNI_JSON_MAX_DEPTH', describe: (d) => `deepest nesting a JSON body may have (default ${d.jsonMaxDepth})` },
  { name: 'MLX_OMNI_DEFAULT_MAX_TOKENS', describe: (d) => `tokens a chat completion generates at most when the request sets no max_tokens (default ${d.defaultMaxTokens})` },
];

/** The "Environment:" section of the help: the named variables, or all of them. */
export function environmentHelp(names?: readonly string[]): string[] {
  const defaults = loadConfig({});
  const shown = names === undefined ? ENVIRONMENT_VARIABLES : ENVIRONMENT_VARIABLES.filter((variable) => names.includes(variable.name));
  const width = Math.max(...shown.map((variable) => variable.name.length));
  return shown.map((variable) => `  ${variable.name.padEnd(width)}  ${variable.describe(defaults)}`);
}
