/**
 * The contract between `mlx-omni-server serve` (the supervisor) and the processes it starts.
 *
 * Exit codes: a child that cannot start for a reason a restart cannot fix (a bad setting, a port in
 * use) exits with one of these, and the supervisor stops the service instead of restarting it in a loop.
 */
export const EXIT_CONFIG_ERROR = 2;
/** sysexits.h's EX_CONFIG: the environment is not fit for this process to start. */
export const EXIT_STARTUP_FAILED = 78;

export const PERMANENT_EXIT_CODES: readonly number[] = [EXIT_CONFIG_ERROR, EXIT_STARTUP_FAILED];

/**
 * Calls `onGone` once when the supervisor is gone, however it ended (a SIGKILL included): the
 * supervisor starts its children with an IPC channel, and the OS closes that channel when the
 * supervisor's process ends. Without a channel (a child started by hand) this does nothing.
 */
export function whenParentGone(onGone: () => void, host: NodeJS.Process = process): void {
  if (host.channel === undefined) {
    return;
  }
  host.once('disconnect', onGone);
  // The channel only carries this signal; it must not keep the process alive by itself.
  host.channel.unref();
}

/** Why the API cannot listen where it is configured to, per error code, naming the setting to change. */
const LISTEN_FAILURES: Record<string, (host: string, port: number) => string> = {
  EADDRINUSE: (_host, port) => `port ${port} is in use: set PORT or --port`,
  EACCES: (_host, port) => `port ${port} needs privileges this user lacks: set PORT or --port (1024 or above)`,
  EADDRNOTAVAIL: (host) => `HOST "${host}" is not an address of this machine: set HOST or --host`,
  ENOTFOUND: (host) => `HOST "${host}" does not resolve (ENOTFOUND): set HOST or --host to a name or address of this machine`,
  EAI_AGAIN: (host) => `HOST "${host}" does not resolve (EAI_AGAIN): set HOST or --host to a name or address of this machine`,
};

/**
 * The one sentence for a failure to listen on host:port, or undefined for a failure that is not about
 * the address. Shared by the supervisor's check before start-up and the API's own listen.
 */
export function listenFailure(error: unknown, host: string, port: number): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined ? undefined : LISTEN_FAILURES[code]?.(host, port);
}

/** What a child logs these two events with; pino's logger fits. */
interface ChildLogger {
  warn(message: string): void;
  fatal(fields: { err: unknown }, message: string): void;
}

/**
 * How every Node child of the supervisor starts: it stops (its own SIGTERM drain) once the
 * supervisor is gone, and a start-up that throws is one logged record with the cause and the exit
 * code that tells the supervisor a restart would fail the same way.
 */
export function startSupervisedChild(name: string, logger: ChildLogger, start: () => Promise<void>): void {
  whenParentGone(() => {
    logger.warn('The supervisor is gone; stopping');
    process.kill(process.pid, 'SIGTERM');
  });
  start().catch((error: unknown) => {
    logger.fatal({ err: error }, `${name} start-up failed`);
    process.exit(EXIT_STARTUP_FAILED);
  });
}
