import { formatPrettyLine } from './pretty';
import { PinoNestLogger } from './logger';
import pino from 'pino';
import { Writable } from 'node:stream';

describe('formatPrettyLine', () => {
  const time = Date.UTC(2026, 0, 2, 3, 4, 5);

  it('writes a record as time, level, source and message, then its other fields', () => {
    const line = formatPrettyLine(
      JSON.stringify({ level: 30, time, service: 'api', pid: 7, msg: 'ready at http://127.0.0.1:10240 (1 worker, 2 models in cache)', workers: 1, url: 'http://127.0.0.1:10240' }),
      false,
    );
    expect(line).toBe(`${new Date(time).toTimeString().slice(0, 8)} INFO  api: ready at http://127.0.0.1:10240 (1 worker, 2 models in cache) workers=1 url=http://127.0.0.1:10240\n`);
  });

  it('names the worker, quotes values with spaces, and puts an error’s stack under the line', () => {
    const err = { message: 'boom', stack: 'Error: boom\n    at here' };
    const line = formatPrettyLine(JSON.stringify({ level: 50, time, service: 'inference-worker', workerId: 'worker-1', msg: 'failed', err, reason: 'two words' }), false);
    expect(line.split('\n')).toEqual([expect.stringMatching(/ERROR inference-worker worker-1: failed \(boom\) reason="two words"$/), '    Error: boom', '        at here', '']);
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatPrettyLine('plain text\n', true)).toBe('plain text\n');
  });
});

describe('PinoNestLogger', () => {
  it('logs Nest’s start-up chatter (modules, routes) at debug, and everything else at its own level', () => {
    const records: Array<{ level: number; msg: string }> = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        records.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const logger = new PinoNestLogger(pino({ level: 'debug' }, stream));
    logger.log('Mapped {/v1/models, GET} route', 'RouterExplorer');
    logger.log('Nest application successfully started', 'NestApplication');
    logger.log('Worker up', 'WorkerRegistryService');
    expect(records.map((record) => [record.level, record.msg])).toEqual([
      [20, 'Mapped {/v1/models, GET} route'],
      [20, 'Nest application successfully started'],
      [30, 'Worker up'],
    ]);
  });
});
