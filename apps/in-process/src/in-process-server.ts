import 'reflect-metadata';
import Anthropic from '@anthropic-ai/sdk';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, type OmniConfig } from '@mlx-omni/config';
import { IpcClient, memoryChannel, type WorkerProtocol } from '@mlx-omni/ipc';
import { createLogger, PinoNestLogger } from '@mlx-omni/logging';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { AppModule } from '../../api/src/app.module';
import { createFastifyAdapter, installHttpHooks, installMultipart } from '../../api/src/http-server';
import { WorkerRegistryService } from '../../api/src/workers/worker-registry.service';
import { PrivateRedis } from '../../cli/src/supervisor/private-redis';
import { WorkerChannelService } from '../../inference-worker/src/channel/worker-channel.service';
import { WorkerModule } from '../../inference-worker/src/worker.module';
import { injectFetch } from './inject-fetch';

export interface InProcessServerOptions {
  /**
   * Settings, as the environment variables the server reads (`HF_HUB_CACHE`, `MLX_OMNI_MODEL_ALIASES`,
   * `MLX_OMNI_API_KEY`, …), over `process.env`. Without `REDIS_URL` a private redis-server is started.
   */
  env?: Record<string, string>;
}

export interface InProcessServer {
  /** The official OpenAI client, bound to the server (`/v1`). */
  openai: OpenAI;
  /** The official Anthropic client, bound to the server (`/anthropic`). */
  anthropic: Anthropic;
  /** A `fetch` answered by the server, for raw requests: `fetch('http://in-process/v1/models')`. */
  fetch: typeof fetch;
  /** The resolved settings it runs with. */
  config: OmniConfig;
  /** Stops the API, the worker and the private Redis, and removes the state folder it made. */
  close(): Promise<void>;
}

const WORKER_ID = 'in-process';
const BASE_URL = 'http://in-process';

/**
 * The whole server in this process, for tests: the API app answering through Fastify's `inject`
 * (no port), one inference worker reached over an in-memory channel (no socket), and Redis
 * (`REDIS_URL`, or a private redis-server). The routes, validation, error envelopes, worker and
 * MLX arithmetic are the real ones; only the transports are in memory, and /docs is not served.
 */
export async function startInProcessServer(options: InProcessServerOptions = {}): Promise<InProcessServer> {
  const stateDir = await mkdtemp(join(tmpdir(), 'mlx-omni-in-process-'));
  const env: Record<string, string | undefined> = { MLX_OMNI_STATE_DIR: stateDir, MLX_OMNI_LOG_LEVEL: 'warn', ...process.env, ...options.env };
  const settings = loadConfig(env);
  const logger = createLogger({ level: settings.logLevel, format: settings.logFormat }, 'in-process');
  let redis: PrivateRedis | undefined;
  if (env.REDIS_URL === undefined || env.REDIS_URL === '') {
    redis = new PrivateRedis(stateDir, process.env, logger);
    env.REDIS_URL = await redis.start();
  }
  const config = loadConfig({ ...env, MLX_OMNI_WORKER_ID: WORKER_ID });
  const nestLogger = new PinoNestLogger(logger);
  const worker = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, 'memory'), { logger: nestLogger });
  const api = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createFastifyAdapter(config, logger), { logger: nestLogger });
  await installMultipart(api);
  // No Swagger UI (/docs): its static assets load ESM modules that test runners such as Jest cannot require.
  await api.init();
  installHttpHooks(api);
  const fastify = api.getHttpAdapter().getInstance();
  await fastify.ready();
  const [apiEnd, workerEnd] = memoryChannel();
  worker.get(WorkerChannelService).serve(workerEnd);
  await api.get(WorkerRegistryService).attach(WORKER_ID, IpcClient.over<WorkerProtocol>(apiEnd, `memory:${WORKER_ID}`));
  const boundFetch = injectFetch(fastify);
  const key = config.apiKey ?? 'in-process';
  return {
    openai: new OpenAI({ baseURL: `${BASE_URL}/v1`, apiKey: key, fetch: boundFetch, maxRetries: 0 }),
    anthropic: new Anthropic({ baseURL: `${BASE_URL}/anthropic`, apiKey: key, fetch: boundFetch, maxRetries: 0 }),
    fetch: boundFetch,
    config,
    close: async () => {
      await api.close();
      await worker.close();
      await redis?.stop(5_000);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
