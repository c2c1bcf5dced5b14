import { core as mx } from '@frost-beta/mlx';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLanguageModel } from '../load-language-model';

jest.setTimeout(120_000);

/**
 * An independent float64 forward pass, in plain typed-array loops straight from the papers and
 * Hugging Face's modeling code: its own safetensors reader, rope (Llama 3.1 and linear scaling),
 * attention with sliding windows, SwiGLU/GeGLU and norms, for Llama, Qwen3 and Gemma 3. The
 * engine's logits must agree with it; a shared misunderstanding would have to be made twice.
 */

interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Every float32 tensor of a snapshot (single file or sharded), parsed from the raw bytes. */
function readTensors(dir: string): Map<string, Matrix> {
  let files = ['model.safetensors'];
  try {
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    files = [...new Set(Object.values(index.weight_map))];
  } catch {
    // No index: a single-file checkpoint.
  }
  const tensors = new Map<string, Matrix>();
  for (const file of files) {
    const bytes = readFileSync(join(dir, file));
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] }
    >;
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') {
        continue;
      }
      expect(info.dtype).toBe('F32');
      const [begin, end] = info.data_offsets;
      const start = 8 + headerLength + begin;
      const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + 8 + headerLength + end));
      tensors.set(name, { rows: info.shape[0], cols: info.shape[1] ?? 1, data: Float64Array.from(floats) });
    }
  }
  return tensors;
}

/** y = W x for W [rows, cols]. */
function matvec(w: Matrix, x: Float64Array): Float64Array {
  const y = new Float64Array(w.rows);
  for (let r = 0; r < w.rows; r++) {
    let sum = 0;
    const offset = r * w.cols;
    for (let c = 0; c < w.cols; c++) {
      sum += w.data[offset + c] * x[c];
    }
    y[r] = sum;
  }
  return y;
}

function rmsNorm(x: Float64Array, weight: Float64Array, eps: number): Float64Array {
  let meanSquare = 0;
  for (const v of x) {
    meanSquare += v * v;
  }
  const inv = 1 / Math.sqrt(meanSquare / x.length + eps);
  return x.map((v, i) => v * inv * weight[i]);
}

interface RopeSettings {
  theta: number;
  /** Linear rope scaling divides positions by this. */
  positionDivisor: number;
  llama3?: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number };
}

interface ReferenceConfig {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  qkNorm: boolean;
  rope: (layer: number) => RopeSettings;
  /**
   * Gemma 3: (1 + w) norms, a norm after each block too, √hidden embedding scale, GeGLU (tanh),
   * query_pre_attn_scalar, and sliding-window attention on all but every `pattern`-th layer.
   */
  gemma?: { window: number; pattern: number; queryPreAttnScalar: number };
}

/** Inverse frequencies of rotary pair i, with Llama 3.1's scaling when configured. */
function inverseFrequencies(headDim: number, rope: RopeSettings): Float64Array {
  const half = headDim / 2;
  const freqs = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    let f = Math.pow(rope.theta, (-2 * i) / headDim);
    if (rope.llama3) {
      const { factor, lowFreqFactor, highFreqFactor, originalContext } = rope.llama3;
      const wavelength = (2 * Math.PI) / f;
      if (wavelength > originalContext / lowFreqFactor) {
        f = f / factor;
      } else if (wavelength >= originalContext / highFreqFactor) {
        const smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        f = (1 - smooth) * (f / factor) + smooth * f;
      }
    }
    freqs[i] = f / rope.positionDivisor;
  }
  return freqs;
}

/** Rotate-half rotary embedding of one head vector at `position`. */
function rotate(v: Float64Array, position: number, freqs: Float64Array): Float64Array {
  const half = freqs.length;
  const out = new Float64Array(v.length);
  for (let i = 0; i < half; i++) {
    const cos = Math.cos(position * freqs[i]);
    const sin = Math.sin(position * freqs[i]);
    out[i] = v[i] * cos - v[i + half] * sin;
    out[i + half] = v[i + half] * cos + v[i] * sin;
  }
  return out;
}

const silu = (g: number) => g / (1 + Math.exp(-g));
const geluTanh = (g: number) => 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g ** 3)));

function referenceLogits(t: Map<string, Matrix>, c: ReferenceConfig, tokens: number[]): Float64Array[] {
  const get = (name: string): Matrix => {
    const m = t.get(name);
    if (!m) {
      throw new Error(`reference: no tensor ${name}`);
    }
    return m;
  };
  const gemma = c.gemma;
  const norm = (x: Float64Array, name: string) => {
    const w = get(name).data;
    return rmsNorm(x, gemma ? w.map((v) => 1 + v) : w, c.eps);
  };
  const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);
  const embed = get('model.embed_tokens.weight');
  const D = c.headDim;
  const group = c.heads / c.kvHeads;
  const scale = gemma ? 1 / Math.sqrt(gemma.queryPreAttnScalar) : 1 / Math.sqrt(D);
  let xs = tokens.map((tok) => embed.data.slice(tok * c.hidden, (tok + 1) * c.hidden).map((v) => (gemma ? v * Math.sqrt(c.hidden) : v)));

  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`;
    const freqs = inverseFrequencies(D, c.rope(l));
    const window = gemma && (l + 1) % gemma.pattern !== 0 ? gemma.window : Infinity;
    const headsOf = (v: Float64Array, count: number, normName?: string): Float64Array[] =>
      Array.from({ length: count }, (_, h) => {
        const head = v.slice(h * D, (h + 1) * D);
        return normName ? norm(head, normName) : head;
      });
    const queries: Float64Array[][] = [];
    const keys: Float64Array[][] = [];
    const values: Float64Array[][] = [];
    xs.forEach((x, pos) => {
      const h = norm(x, `${p}.input_layernorm.weight`);
      const qNorm = c.qkNorm ? `${p}.self_attn.q_norm.weight` : undefined;
      const kNorm = c.qkNorm ? `${p}.self_attn.k_norm.weight` : undefined;
      queries.push(headsOf(matvec(get(`${p}.self_attn.q_proj.weight`), h), c.heads, qNorm).map((q) => rotate(q, pos, freqs)));
      keys.push(headsOf(matvec(get(`${p}.self_attn.k_proj.weight`), h), c.kvHeads, kNorm).map((k) => rotate(k, pos, freqs)));
      values.push(headsOf(matvec(get(`${p}.self_attn.v_proj.weight`), h), c.kvHeads));
    });
    xs = xs.map((x, pos) => {
      const attended = new Float64Array(c.heads * D);
      const visible = Array.from({ length: pos + 1 }, (_, j) => j).filter((j) => j > pos - window);
      for (let head = 0; head < c.heads; head++) {
        const kvHead = Math.floor(head / group);
        const scores = visible.map((j) => {
          let s = 0;
          for (let d = 0; d < D; d++) {
            s += queries[pos][head][d] * keys[j][kvHead][d];
          }
          return s * scale;
        });
        const max = Math.max(...scores);
        const weights = scores.map((s) => Math.exp(s - max));
        const total = weights.reduce((a, b) => a + b, 0);
        visible.forEach((j, n) => {
          for (let d = 0; d < D; d++) {
            attended[head * D + d] += (weights[n] / total) * values[j][kvHead][d];
          }
        });
      }
      let attentionOut = matvec(get(`${p}.self_attn.o_proj.weight`), attended);
      if (gemma) {
        attentionOut = norm(attentionOut, `${p}.post_attention_layernorm.weight`);
      }
      const afterAttention = add(x, attentionOut);
      const h = norm(afterAttention, gemma ? `${p}.pre_feedforward_layernorm.weight` : `${p}.post_attention_layernorm.weight`);
      const gate = matvec(get(`${p}.mlp.gate_proj.weight`), h);
      const up = matvec(get(`${p}.mlp.up_proj.weight`), h);
      const act = gate.map((g, i) => (gemma ? geluTanh(g) : silu(g)) * up[i]);
      let mlpOut = matvec(get(`${p}.mlp.down_proj.weight`), act);
      if (gemma) {
        mlpOut = norm(mlpOut, `${p}.post_feedforward_layernorm.weight`);
      }
      return add(afterAttention, mlpOut);
    });
  }
  const head = t.get('lm_head.weight') ?? embed;
  return xs.map((x) => matvec(head, norm(x, 'model.norm.weight')));
}

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
