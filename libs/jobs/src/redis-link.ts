import type { EventEmitter } from 'node:events';

/** The part of a logger this needs; Nest's Logger and pino's both fit through their object-first overloads. */
export interface RedisLinkLogger {
  warn(fields: object, message: string): void;
  log(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/**
 * One process's view of its link to Redis, logged once per change: "unreachable (why)" when it goes,
 * "reachable again" when it comes back. ioredis retries every couple of seconds and reports every
 * failed try as an 'error' event (printed raw when nobody listens); those become at most one line.
 */
export class RedisLinkMonitor {
  private state: 'unknown' | 'up' | 'down' = 'unknown';

  constructor(
    private readonly logger: RedisLinkLogger,
    /** Where Redis is, without a password (for the lines). */
    private readonly target: string,
  ) {}

  /**
   * A connection whose 'ready' and 'error' events tell the link's state: a plain client, a BullMQ
   * worker. A BullMQ worker also reports job faults as 'error' (a lost lock, a script error): those
   * are logged as they come, and only connection failures count as the link going down.
   */
  watch(connection: EventEmitter): void {
    connection.on('error', (error: unknown) => {
      if (isConnectionFailure(error)) {
        this.lost(error);
      } else {
        this.logger.warn({ redis: this.target, err: error }, `Redis command failed: ${describe(error)}`);
      }
    });
    connection.on('ready', () => this.restored());
  }

  /**
   * A connection that reports errors but not its recovery (BullMQ queues and queue events): its
   * errors are kept at debug, since a watched connection already tells the state.
   */
  absorb(connection: EventEmitter): void {
    connection.on('error', (error: unknown) => this.logger.debug({ redis: this.target, err: describe(error) }, 'Redis connection error'));
  }

  private lost(error: unknown): void {
    if (this.state === 'down') {
      return;
    }
    this.state = 'down';
    const reason = describe(error);
    this.logger.warn({ redis: this.target, reason }, `Redis unreachable at ${this.target} (${reason}); retrying until it answers`);
  }

  private restored(): void {
    if (this.state === 'down') {
      this.logger.log({ redis: this.target }, `Redis reachable again at ${this.target}`);
    }
    this.state = 'up';
  }
}

/** Errors of the connection itself (ioredis passes the socket's), as opposed to a command's. */
const CONNECTION_FAILURE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Connection is closed|Stream isn't writeable/;

function isConnectionFailure(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return CONNECTION_FAILURE.test(`${typeof code === 'string' ? code : ''} ${typeof message === 'string' ? message : ''}`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The URL fit for a log line: a REDIS_URL may carry a password. */
export function redactRedisUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') {
    parsed.password = '***';
  }
  return parsed.toString();
}
