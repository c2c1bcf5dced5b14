import { ApiError } from '../../common/errors/api-error';
import { renderAnthropicError } from '../../anthropic/anthropic-error';
import { relayToSse } from './relay';
import { SseWriter } from './sse-writer';

const quiet = { warn: () => undefined };

async function text(sse: SseWriter): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of sse.body) {
    parts.push(part as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

describe('relayToSse', () => {
  it('writes named events, and a failure mid-stream as the surface’s error event before ending', async () => {
    async function* events() {
      yield { type: 'message_start' };
      throw new ApiError(503, 'The worker went away', { code: 'worker_unavailable' });
    }
    const sse = new SseWriter();
    const body = text(sse);
    await relayToSse({ sse, events: events(), write: (writer, event) => writer.sendNamed(event), failure: (error) => renderAnthropicError(error).body, logger: quiet });
    expect(await body).toBe(
      'event: message_start\ndata: {"type":"message_start"}\n\n' +
        'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"The worker went away"}}\n\n',
    );
  });

  it('writes data-only lines, and stops pulling events (cancelling their source) once the client left', async () => {
    let pulled = 0;
    let cancelled = false;
    async function* events() {
      try {
        for (;;) {
          pulled += 1;
          yield { n: pulled };
        }
      } finally {
        cancelled = true;
      }
    }
    const sse = new SseWriter();
    sse.body.once('data', () => sse.body.destroy());
    await relayToSse({ sse, events: events(), write: (writer, event) => writer.send(event), failure: () => ({}), logger: quiet });
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThan(5);
  });
});
