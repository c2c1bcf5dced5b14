import { core as mx } from '@frost-beta/mlx';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTensors, referenceLogits, type ReferenceConfig } from '../../testing/float64-reference';
import { loadLanguageModel } from '../load-language-model';

jest.setTimeout(120_000);

/**
 * An independent float64 forward pass, in plain typed-array loops straight from the papers and
 * Hugging Face's modeling code: its own safetensors reader, rope (Llama 3.1 and linear scaling),
 * attention with sliding windows, SwiGLU/GeGLU and norms, for Llama, Qwen3 and Gemma 3. The
 * engine's logits must agree with it; a shared misunderstanding would have to be made twice.
 */

type Config = Record<string, number>;
const common = (cfg: Config) => ({
  hidden: cfg.hidden_size,
  layers: cfg.num_hidden_layers,
  heads: cfg.num_attention_heads,
  kvHeads: cfg.num_key_value_heads,
  headDim: cfg.head_dim,
  eps: cfg.rms_norm_eps,
});

// Each case hard-codes the architecture's reading of its config (rope scaling, windows), checked
// against the fixture's config.json first so the two cannot drift apart silently.
const CASES: Array<[string, Record<string, unknown>, (cfg: Config) => ReferenceConfig]> = [
  [
    'mlx-omni-test/tiny-llama-fp32',
    { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } },
    (cfg) => ({
      ...common(cfg),
      qkNorm: false,
      rope: () => ({ theta: cfg.rope_theta, positionDivisor: 1, llama3: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 } }),
    }),
  ],
  ['mlx-omni-test/tiny-qwen3-fp32', {}, (cfg) => ({ ...common(cfg), qkNorm: true, rope: () => ({ theta: cfg.rope_theta, positionDivisor: 1 }) })],
  [
    'mlx-omni-test/tiny-gemma3-text-fp32',
    { sliding_window: 4, sliding_window_pattern: 2, rope_scaling: { rope_type: 'linear', factor: 8 }, rope_local_base_freq: 10000 },
    (cfg) => ({
      ...common(cfg),
      qkNorm: true,
      // Local layers: their own base, unscaled; global layers: rope_theta with positions / 8.
      rope: (layer) => ((layer + 1) % 2 !== 0 ? { theta: 10000, positionDivisor: 1 } : { theta: cfg.rope_theta, positionDivisor: 8 }),
      gemma: { window: 4, pattern: 2, queryPreAttnScalar: cfg.query_pre_attn_scalar },
    }),
  ],
];

describe.each(CASES)('float64 reference forward: %s', (id, expectedConfig, referenceConfig) => {
  it("agrees with the engine's logits at every position", async () => {
    const dir = (await ensureFixtures(testHubDir(), [id])).get(id) as string;
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject(expectedConfig);
    // Ten tokens: past the Gemma fixture's 4-token window.
    const tokens = [17, 1000, 42, 99_999, 7, 31_337, 5, 12_345, 3, 2024].map((t) => t % (config['vocab_size'] as number));
    const reference = referenceLogits(readTensors(dir), referenceConfig(config as Config), tokens);

    const { model } = await loadLanguageModel(dir);
    const engine = model.forward(mx.array([tokens], mx.int32));
    const engineRows = engine.index(0).tolist() as number[][];
    let maxDiff = 0;
    let maxLogit = 0;
    engineRows.forEach((rowValues, pos) =>
      rowValues.forEach((v, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(v - reference[pos][i]));
        maxLogit = Math.max(maxLogit, Math.abs(reference[pos][i]));
      }),
    );
    console.log(`${id}: engine (fp32) vs float64 reference max abs diff ${maxDiff} (largest |logit| ${maxLogit.toFixed(2)})`);
    expect(maxLogit).toBeGreaterThan(0.5);
    expect(maxDiff).toBeLessThan(1e-4);
    // And the same next-token choice at every position.
    const argmax = (values: ArrayLike<number>) => {
      let best = 0;
      for (let i = 1; i < values.length; i++) {
        best = values[i] > values[best] ? i : best;
      }
      return best;
    };
    expect(engineRows.map(argmax)).toEqual(reference.map(argmax));
  });
});
