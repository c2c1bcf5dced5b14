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
    // One row: streams run one after another, so who runs next is the admission policy's choice alone.
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: hub, MLX_OMNI_KEYS_FILE: keysFile, MLX_OMNI_LOG_LEVEL: 'warn', MLX_OMNI_BATCH_MAX_ROWS: '1' } });
    await stack.waitUntilReady();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('gives the free row to a key that has had none before the waiting streams of a key that has', async () => {
    const finished: string[] = [];
    let busyRunning!: () => void;
    const firstBusyToken = new Promise<void>((resolve) => (busyRunning = resolve));
    const stream = async (key: 'busy' | 'light', n: number): Promise<void> => {
      const body = { model: QWEN, messages: [{ role: 'user', content: `stream ${n}` }], max_tokens: TOKENS, min_p: 0, temperature: 0, stream: true };
      const response = await postJson(stack.baseUrl, '/v1/chat/completions', body, { headers: { authorization: `Bearer ${keys[key]}` } });
      expect(response.status).toBe(200);
      let tokens = 0;
      for await (const event of readSse(response)) {
        if (event !== '[DONE]' && event.choices?.[0]?.delta?.content !== undefined) {
          tokens += 1;
          if (key === 'busy') {
            busyRunning();
          }
        }
      }
      expect(tokens).toBeGreaterThan(TOKENS / 2);
      finished.push(`${key}${n}`);
    };
    // The busy key's first stream takes the row and two more wait; the light key asks only then.
    const busy = [stream('busy', 1), stream('busy', 2), stream('busy', 3)];
    await firstBusyToken;
    const light = stream('light', 4);
    await Promise.all([...busy, light]);
    // First come, first served would run the busy key's two waiting streams first; the admission policy runs light4 next.
    expect(finished.indexOf('light4')).toBe(1);
  });
});
