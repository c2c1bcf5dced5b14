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
