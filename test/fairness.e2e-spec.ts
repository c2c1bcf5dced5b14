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
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: hub, MLX_OMNI_KEYS_FILE: keysFile, MLX_OMNI_LOG_LEVEL: 'warn' } });
    await stack.waitUntilReady();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('gives a key with one stream as many decode steps as a key with three, not a quarter', async () => {
    // A global arrival counter over all four streams: when a stream's last token arrives says how its key was served.
    let arrived = 0;
    const finishedAt: Record<string, number[]> = { busy: [], light: [] };
    const stream = async (key: 'busy' | 'light', n: number): Promise<void> => {
      const body = { model: QWEN, messages: [{ role: 'user', content: `stream ${n}` }], max_tokens: TOKENS, min_p: 0, temperature: 0, stream: true };
      const response = await postJson(stack.baseUrl, '/v1/chat/completions', body, { headers: { authorization: `Bearer ${keys[key]}` } });
      expect(response.status).toBe(200);
      let tokens = 0;
      for await (const event of readSse(response)) {
        if (event !== '[DONE]' && event.choices?.[0]?.delta?.content !== undefined) {
          tokens += 1;
          arrived += 1;
        }
      }
      expect(tokens).toBeGreaterThan(TOKENS / 2);
      finishedAt[key].push(arrived);
    };
    await Promise.all([stream('busy', 1), stream('busy', 2), stream('busy', 3), stream('light', 4)]);
    const total = arrived;
    // Per-request turns would finish all four together (at ~100% of the tokens); per-key turns finish
    // the light key when about half of all tokens have arrived.
    expect(finishedAt.light[0]).toBeLessThan(total * 0.7);
    expect(Math.min(...finishedAt.busy)).toBeGreaterThan(finishedAt.light[0]);
  });
});
