import type { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { StartupRefusal } from './preflight';
import type { Supervisor } from './supervisor';

/** SIGHUP too: closing the terminal must stop the service as cleanly as Ctrl-C does. */
const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * One Ctrl-C can arrive twice: the terminal signals the whole foreground process group, and
 * `npm start` forwards the SIGINT it got to its child as well. A signal this soon after the first
 * is that echo, not the user asking to force.
 */
export const ECHO_WINDOW_MS = 1_000;

/**
 * Starts the supervisor and keeps it running until a shutdown signal arrives on `host` (the
 * process). The first signal stops everything gracefully; a later one, past the echo window,
 * kills everything at once.
 * Resolves with the exit code: 0 after a graceful stop, 1 when start-up failed or a child could not
 * be kept running, 128 + signal number when forced.
 */
export async function runUntilSignalled(supervisor: Supervisor, logger: Logger, host: EventEmitter): Promise<number> {
  // 'exit' also runs when the supervisor dies of an uncaught error: the last chance to leave no orphans.
  host.once('exit', () => supervisor.kill());
  const stopped = new Promise<number>((resolve) => {
    let firstSignalAt: number | undefined;
    const onSignal = (signal: (typeof SHUTDOWN_SIGNALS)[number]): void => {
      if (firstSignalAt !== undefined) {
        if (Date.now() - firstSignalAt < ECHO_WINDOW_MS) {
          return;
        }
        logger.warn({ signal }, 'second signal: killing every process now');
        supervisor.kill();
        resolve(128 + constants.signals[signal]);
        return;
      }
      firstSignalAt = Date.now();
      logger.info({ signal }, 'stopping: draining in-flight work');
      void supervisor.stop().then(() => {
        logger.info('service stopped');
        resolve(0);
      });
    };
    for (const signal of SHUTDOWN_SIGNALS) {
      host.on(signal, onSignal);
    }
    void supervisor.failed.then((reason) => {
      if (firstSignalAt !== undefined) {
        return;
      }
      firstSignalAt = Date.now();
      logger.fatal(`${reason}; stopping the service`);
      void supervisor.stop().then(() => resolve(1));
    });
  });

  try {
    await supervisor.start();
  } catch (error) {
    if (!supervisor.stopRequested) {
      // A refusal is the user's to fix and says how in one sentence; anything else is a fault, with its stack.
      if (error instanceof StartupRefusal) {
        logger.fatal(error.message);
      } else {
        logger.fatal({ err: error }, 'start-up failed');
      }
      await supervisor.stop();
      return 1;
    }
    // A signal during start-up stops what was starting, which then fails; the stop is what counts.
    logger.info({ err: error }, 'start-up interrupted by shutdown');
  }
  return stopped;
}
