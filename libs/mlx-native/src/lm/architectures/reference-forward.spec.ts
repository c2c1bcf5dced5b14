import { core as mx } from '@frost-beta/mlx';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { glmMlp, gptOssMlp, readTensors, referenceLogits, type ReferenceConfig } from '../../testing/decoder-reference';
import { loadLanguageModel } from '../load-language-model';

jest.setTimeout(120_000);

/**
 * An independent float64 forward pass, in plain typed-array loops straight from the papers and
 * Hugging Face's modeling code: its own safetensors reader (float32, bf16, MLX affine and MXFP4
 * codes decoded by hand), rope (Llama 3.1, linear and YaRN scaling, partial rotary), attention
 * with sliding windows, biases and sinks, SwiGLU/GeGLU, mixtures of experts and norms, for Llama,
 * Qwen3, Gemma 3, gpt-oss and GLM-4.5. The engine's logits must agree with it; a shared
 * misunderstanding would have to be made twice.
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
  ...['mlx-omni-test/tiny-gpt-oss-bf16', 'mlx-omni-test/tiny-gpt-oss-mxfp4-q8'].map(
    (id): [string, Record<string, unknown>, (cfg: Config) => ReferenceConfig] => [
      id,
      {
        sliding_window: 4,
        num_local_experts: 4,
        num_experts_per_tok: 2,
        swiglu_limit: 7,
        rope_scaling: { rope_type: 'yarn', factor: 32, beta_fast: 32, beta_slow: 1, original_max_position_embeddings: 4096, truncate: false },
      },
      (cfg) => ({
        ...common(cfg),
        qkNorm: false,
        qkvBias: true,
        outBias: true,
        sinks: true,
        // Even layers slide over the last 4 positions, odd ones see everything.
        window: (layer) => (layer % 2 === 0 ? 4 : Infinity),
        rope: () => ({ theta: cfg.rope_theta, positionDivisor: 1, yarn: { factor: 32, betaFast: 32, betaSlow: 1, originalContext: 4096 } }),
        mlp: gptOssMlp(4, 2),
      }),
    ],
  ),
  [
    'mlx-omni-test/tiny-glm4-moe-fp32',
    { partial_rotary_factor: 0.5, n_routed_experts: 4, n_group: 2, topk_group: 1, num_experts_per_tok: 2, routed_scaling_factor: 2.5, first_k_dense_replace: 1 },
    (cfg) => ({
      ...common(cfg),
      qkNorm: false,
      qkvBias: true,
      rope: () => ({ theta: cfg.rope_theta, positionDivisor: 1, dims: cfg.head_dim / 2 }),
      mlp: glmMlp({ experts: 4, k: 2, groups: 2, topKGroups: 1, scale: 2.5, denseLayers: 1 }),
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
    const reference = referenceLogits(readTensors(dir, config), referenceConfig(config as Config), tokens);

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
