import { EventEmitter } from 'node:events';
import { RedisLinkMonitor, redactRedisUrl } from './redis-link';

function recorder() {
  const lines: Array<[string, string]> = [];
  const logger = {
    warn: (_fields: object, message: string) => lines.push(['warn', message]),
    log: (_fields: object, message: string) => lines.push(['log', message]),
    debug: (_fields: object, message: string) => lines.push(['debug', message]),
  };
  return { logger, lines };
}

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

describe('RedisLinkMonitor', () => {
  it('logs an outage once however many retries fail, the recovery once, and the next outage again', () => {
    const { logger, lines } = recorder();
    const monitor = new RedisLinkMonitor(logger, 'redis://127.0.0.1:6379');
    const client = new EventEmitter();
    monitor.watch(client);
    client.emit('ready');
    for (let retry = 0; retry < 30; retry += 1) {
      client.emit('error', refused);
    }
    client.emit('ready');
    client.emit('ready');
    client.emit('error', refused);
    expect(lines).toEqual([
      ['warn', 'Redis unreachable at redis://127.0.0.1:6379 (connect ECONNREFUSED 127.0.0.1:6379); retrying until it answers'],
      ['log', 'Redis reachable again at redis://127.0.0.1:6379'],
      ['warn', 'Redis unreachable at redis://127.0.0.1:6379 (connect ECONNREFUSED 127.0.0.1:6379); retrying until it answers'],
    ]);
  });

  it('does not take a job fault a BullMQ worker reports for the link going down, and keeps absorbed errors at debug', () => {
    const { logger, lines } = recorder();
    const monitor = new RedisLinkMonitor(logger, 'redis://127.0.0.1:6379');
    const worker = new EventEmitter();
    const queue = new EventEmitter();
    monitor.watch(worker);
    monitor.absorb(queue);
    worker.emit('error', new Error('Missing lock for job 42. moveToFinished'));
    queue.emit('error', refused);
    expect(lines).toEqual([
      ['warn', 'Redis command failed: Missing lock for job 42. moveToFinished'],
      ['debug', 'Redis connection error'],
    ]);
  });

  it('keeps a password out of the lines', () => {
    expect(redactRedisUrl('redis://:s3cret@host:6379/1')).toBe('redis://:***@host:6379/1');
  });
});
