import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogFormat, LogLevel } from '@mlx-omni/config';
import { formatPrettyLine } from './pretty';

export interface LoggerOptions {
  level: LogLevel;
  /** `auto` picks pretty lines when stdout is a terminal. */
  format: LogFormat;
}

/** Whether this process writes readable lines rather than JSON: asked for, or `auto` on a terminal. */
export function isPretty(format: LogFormat, stdout: { isTTY?: boolean } = process.stdout): boolean {
  return format === 'pretty' || (format === 'auto' && stdout.isTTY === true);
}

/** pino serialises every record to a JSON line first; a terminal gets that line reworded. */
function prettyStream(colors: boolean): DestinationStream {
  return { write: (line: string) => void process.stdout.write(formatPrettyLine(line, colors)) };
}

/**
 * One logger per process; `service` tells apart the lines of the API, workers and supervisor.
 * JSON lines for machines (a pipe, a file, a log shipper), readable lines on a terminal.
 */
export function createLogger(options: LoggerOptions, service: string, bindings: Record<string, unknown> = {}): Logger {
  const settings = { level: options.level, base: { service, pid: process.pid, ...bindings } };
  return isPretty(options.format) ? pino(settings, prettyStream(process.stdout.hasColors?.() === true)) : pino(settings);
}

/**
 * Nest's own start-up chatter: one line per module and per route. Useful when debugging the wiring,
 * noise for everyone else, so it is logged at debug.
 */
const FRAMEWORK_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

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
    const effective = level === 'info' && context !== undefined && FRAMEWORK_CONTEXTS.has(context) ? 'debug' : level;
    if (typeof message === 'string') {
      this.logger[effective]({ context }, message);
      return;
    }
    const text = typeof params[0] === 'string' ? params[0] : undefined;
    this.logger[effective]({ context, ...describe(message) }, text);
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
