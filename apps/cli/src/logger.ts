import type { LogLevel } from '@mlx-omni/config';
import pino, { type Logger } from 'pino';

/** The supervisor's one logger: JSON lines on stdout, interleaved with the children's own. */
export function createLogger(level: LogLevel): Logger {
  return pino({ name: 'mlx-omni-server', level });
}
