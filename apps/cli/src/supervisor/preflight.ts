import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';

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
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new StartupRefusal(`HOST "${host}" does not resolve (${code}): set HOST or --host to a name or address of this machine`);
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
    switch ((error as NodeJS.ErrnoException).code) {
      case 'EADDRINUSE':
        throw new StartupRefusal(`port ${port} is in use: set PORT or --port`);
      case 'EACCES':
        throw new StartupRefusal(`port ${port} needs privileges this user lacks: set PORT or --port (1024 or above)`);
      case 'EADDRNOTAVAIL':
        throw new StartupRefusal(`HOST "${host}" is not an address of this machine: set HOST or --host`);
      default:
        throw error;
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
