import { homedir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Everything the processes of the service read from their environment, parsed and validated once. */
export interface OmniConfig {
  host: string;
  port: number;
  /** Absent when the supervisor is to start its own loopback redis-server. */
  redisUrl: string | undefined;
  workers: number;
  logLevel: LogLevel;
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
  /** Readiness fails when the state directory's disk has less free than this. */
  minFreeDiskBytes: number;
  /** Host memory the worker's model pool may fill. */
  memoryBudgetBytes: number;
}

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

function readLogLevel(env: Env): LogLevel {
  const raw = readString(env, 'MLX_OMNI_LOG_LEVEL')?.toLowerCase() ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
    throw new ConfigError('MLX_OMNI_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  }
  return raw as LogLevel;
}

function readHost(env: Env): string {
  const host = readString(env, 'HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) {
    throw new ConfigError('HOST', `must be a host name or IP address, got "${host}"`);
  }
  return host;
}

function readWorkerId(env: Env): string {
  const id = readString(env, 'MLX_OMNI_WORKER_ID') ?? `worker-${process.pid}`;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new ConfigError('MLX_OMNI_WORKER_ID', `must be 1-64 letters, digits, "-" or "_", got "${id}"`);
  }
  return id;
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
    logLevel: readLogLevel(env),
    hfHome,
    hfHubCache: resolve(readString(env, 'HF_HUB_CACHE') ?? join(hfHome, 'hub')),
    stateDir,
    workerId: readWorkerId(env),
    workerSocketDir: resolve(readString(env, 'MLX_OMNI_WORKER_SOCKET_DIR') ?? join(stateDir, 'workers')),
    shutdownGraceMs: readInteger(env, 'MLX_OMNI_SHUTDOWN_GRACE_MS', 30_000, 0, 3_600_000),
    workerMaxPending: readInteger(env, 'MLX_OMNI_WORKER_MAX_PENDING', 16, 1, 10_000),
    bodyLimitBytes: readInteger(env, 'MLX_OMNI_BODY_LIMIT_BYTES', 32 * 1024 * 1024, 1024, 1024 ** 3),
    minFreeDiskBytes: readInteger(env, 'MLX_OMNI_MIN_FREE_DISK_BYTES', gib, 0, Number.MAX_SAFE_INTEGER),
    // Three quarters leaves the OS, the API and the KV caches room on a shared machine.
    memoryBudgetBytes: readInteger(env, 'MLX_OMNI_MEMORY_BUDGET_BYTES', Math.floor(totalmem() * 0.75), 0, Number.MAX_SAFE_INTEGER),
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
