import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { keysCli } from './support/keys';
import { postJson, readSse } from './support/sse';
import { startStack, type RunningStack } from './support/stack';

const QWEN = 'mlx-omni-test/tiny-qwen3-fp32';
const TOKENS = 40;

describe('one worker shared by two keys', () => {
  let stack: RunningStack;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    const keysFile = join(mkdtempSync(join(tmpdir(), 'omni-fair-')), 'keys.json');
    keys.busy = keysCli(keysFile, 'add', 'busy', '--role', 'user');
    keys.light = keysCli(keysFile, 'add', 'light', '--role', 'user');
    const hub = testHubDir();
    await ensureFixtures(hub, [QWEN]);
    // Two rows: the batch is full with two streams, so who joins next is the admission policy's choice.
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: hub, MLX_OMNI_KEYS_FILE: keysFile, MLX_OMNI_LOG_LEVEL: 'warn', MLX_OMNI_BATCH_MAX_ROWS: '2' } });
    await stack.waitUntilReady();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('gives a free row to a key with no stream in the batch before the third stream of a key with two', async () => {
    const finished: string[] = [];
    let busyStarted = 0;
    let firstBusyTokens!: () => void;
    const busyRunning = new Promise<void>((resolve) => (firstBusyTokens = resolve));
    const stream = async (key: 'busy' | 'light', n: number): Promise<void> => {
      const body = { model: QWEN, messages: [{ role: 'user', content: `stream ${n}` }], max_tokens: TOKENS, min_p: 0, temperature: 0, stream: true };
      const response = await postJson(stack.baseUrl, '/v1/chat/completions', body, { headers: { authorization: `Bearer ${keys[key]}` } });
      expect(response.status).toBe(200);
      let tokens = 0;
      for await (const event of readSse(response)) {
        if (event !== '[DONE]' && event.choices?.[0]?.delta?.content !== undefined) {
          tokens += 1;
          if (key === 'busy' && tokens === 1 && ++busyStarted === 2) {
            firstBusyTokens();
          }
        }
      }
      expect(tokens).toBeGreaterThan(TOKENS / 2);
      finished.push(`${key}${n}`);
    };
    // The busy key fills both rows and queues a third stream; the light key asks only then.
    const busy = [stream('busy', 1), stream('busy', 2), stream('busy', 3)];
    await busyRunning;
    const light = stream('light', 4);
    await Promise.all([...busy, light]);
    // First come, first served would run busy3 before light4; the admission policy runs light4 first.
    expect(finished.indexOf('light4')).toBeLessThan(finished.indexOf('busy3'));
  });
});
