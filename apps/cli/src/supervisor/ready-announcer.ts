import { setTimeout as sleep } from 'node:timers/promises';
import type { OmniConfig } from '@mlx-omni/config';
import { listModels } from '@mlx-omni/model-hub';
import type { Logger } from 'pino';

const POLL_MS = 250;
/** Past this without readiness, say once what is still missing; the polling goes on. */
const SLOW_START_MS = 60_000;

/** http://HOST:PORT as a browser takes it (IPv6 in brackets). */
export function serviceUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Where this machine reaches the API: a wildcard address is reached on loopback. */
export function localUrl(config: Pick<OmniConfig, 'host' | 'port'>): string {
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  return serviceUrl(host, config.port);
}

interface Readiness {
  ready: boolean;
  workersUp?: number;
  why?: string;
}

async function readiness(config: OmniConfig): Promise<Readiness | undefined> {
  try {
    const response = await fetch(`${localUrl(config)}/health/ready`, {
      headers: config.apiKey === undefined ? {} : { authorization: `Bearer ${config.apiKey}` },
      signal: AbortSignal.timeout(5_000),
    });
    // With MLX_OMNI_PROTECT_OPS and no key to send, the API answering at all is as far as this can see.
    if (response.status === 401) {
      return { ready: true };
    }
    const body = (await response.json()) as { details?: { workers?: { up?: number } }; error?: { message?: string } };
    return { ready: response.ok, workersUp: body.details?.workers?.up, why: body.error?.message };
  } catch {
    return undefined;
  }
}

/**
 * Logs the one line a person waits for, "ready at http://HOST:PORT (N workers, M models in cache)",
 * once the API's readiness check passes; stops polling when `signal` aborts.
 */
export async function announceWhenReady(config: OmniConfig, logger: Logger, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  let warned = false;
  while (!signal.aborted) {
    const state = await readiness(config);
    if (signal.aborted) {
      return;
    }
    // Ready takes one worker; the line waits for all of them, unless one is slow to come (a large preload).
    const allUp = state?.workersUp === undefined || state.workersUp >= config.workers || Date.now() - started > SLOW_START_MS;
    if (state?.ready === true && allUp) {
      const models = await listModels({ hubCache: config.hfHubCache, extraDirs: config.modelDirs }).then(
        (found) => found.length,
        () => 0,
      );
      const workers = state.workersUp ?? config.workers;
      const url = serviceUrl(config.host, config.port);
      logger.info(
        { url, workers, models },
        `ready at ${url} (${workers} worker${workers === 1 ? '' : 's'}, ${models} model${models === 1 ? '' : 's'} in cache)`,
      );
      return;
    }
    if (!warned && Date.now() - started > SLOW_START_MS) {
      warned = true;
      logger.warn({ url: localUrl(config) }, `not ready yet after ${SLOW_START_MS / 1000} s: ${state?.why ?? 'the API does not answer'}`);
    }
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
  }
}
