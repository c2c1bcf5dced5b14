import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '@mlx-omni/config';

/** One JSON-lines logger per process; `service` tells apart the lines of the API, workers and supervisor. */
export function createLogger(level: LogLevel, service: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service, pid: process.pid, ...bindings } });
}

function describe(message: unknown): Record<string, unknown> {
  if (message instanceof Error) {
    return { err: message };
  }
  return typeof message === 'object' && message !== null ? (message as Record<string, unknown>) : { value: message };
}

/** Routes Nest's own log calls into the process's pino logger, so there is one logger and one format. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace', message: unknown, params: unknown[]): void {
    // Nest appends the context (class name) as the last parameter; `logger.log({fields}, 'text')`
    // arrives as (fields, 'text', context).
    const context = params.length > 0 && typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    if (typeof message === 'string') {
      this.logger[level]({ context }, message);
      return;
    }
    const text = typeof params[0] === 'string' ? params[0] : undefined;
    this.logger[level]({ context, ...describe(message) }, text);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
}
