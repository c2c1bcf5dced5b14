import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import { listenFailure } from '@mlx-omni/supervision';

/**
 * The service cannot start here as configured, for a reason the user fixes (a port in use, a host
 * that does not resolve, another instance on the state directory): reported as its one sentence,
 * without a stack trace, and nothing is restarted.
 */
export class StartupRefusal extends Error {
  override name = 'StartupRefusal';
}

/** Tries the address the API will listen on, so a conflict is one sentence before anything starts. */
export async function checkListenAddress(host: string, port: number): Promise<void> {
  try {
    await lookup(host);
  } catch (error) {
    throw new StartupRefusal(listenFailure(error, host, port) ?? `HOST "${host}" does not resolve (${(error as Error).message}): set HOST or --host`);
  }
  if (port === 0) {
    return;
  }
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, resolve);
    });
  } catch (error) {
    const reason = listenFailure(error, host, port);
    throw reason === undefined ? error : new StartupRefusal(reason);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
