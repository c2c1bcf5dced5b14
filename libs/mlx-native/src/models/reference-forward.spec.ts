import { core as mx } from '@frost-beta/mlx';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLanguageModel } from '../loading/load-language-model';

jest.setTimeout(120_000);

/**
 * An independent float64 forward pass of Llama-family decoders, in plain typed-array loops
 * straight from the papers and Hugging Face's modeling code: its own safetensors reader, its own
 * rope (Llama 3.1 frequency scaling included), attention, SwiGLU and norms. The engine's logits
 * must agree with it; a shared misunderstanding would have to be made twice.
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

interface ReferenceConfig {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  ropeTheta: number;
  llama3?: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number };
  qkNorm: boolean;
}

/** Inverse frequencies of rotary pair i, with Llama 3.1's scaling when configured. */
function inverseFrequencies(c: ReferenceConfig): Float64Array {
  const half = c.headDim / 2;
  const freqs = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    let f = Math.pow(c.ropeTheta, (-2 * i) / c.headDim);
    if (c.llama3) {
      const { factor, lowFreqFactor, highFreqFactor, originalContext } = c.llama3;
      const wavelength = (2 * Math.PI) / f;
      if (wavelength > originalContext / lowFreqFactor) {
        f = f / factor;
      } else if (wavelength >= originalContext / highFreqFactor) {
        const smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        f = (1 - smooth) * (f / factor) + smooth * f;
      }
    }
    freqs[i] = f;
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

function referenceLogits(t: Map<string, Matrix>, c: ReferenceConfig, tokens: number[]): Float64Array[] {
  const get = (name: string): Matrix => {
    const m = t.get(name);
    if (!m) {
      throw new Error(`reference: no tensor ${name}`);
    }
    return m;
  };
  const embed = get('model.embed_tokens.weight');
  const freqs = inverseFrequencies(c);
  const D = c.headDim;
  const group = c.heads / c.kvHeads;
  let xs = tokens.map((tok) => embed.data.slice(tok * c.hidden, (tok + 1) * c.hidden));

  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`;
    const keys: Float64Array[][] = [];
    const values: Float64Array[][] = [];
    const queries: Float64Array[][] = [];
    const headsOf = (v: Float64Array, count: number, norm?: string): Float64Array[] =>
      Array.from({ length: count }, (_, h) => {
        const head = v.slice(h * D, (h + 1) * D);
        return norm ? rmsNorm(head, get(norm).data, c.eps) : head;
      });
    xs.forEach((x, pos) => {
      const h = rmsNorm(x, get(`${p}.input_layernorm.weight`).data, c.eps);
      const qNorm = c.qkNorm ? `${p}.self_attn.q_norm.weight` : undefined;
      const kNorm = c.qkNorm ? `${p}.self_attn.k_norm.weight` : undefined;
      queries.push(headsOf(matvec(get(`${p}.self_attn.q_proj.weight`), h), c.heads, qNorm).map((q) => rotate(q, pos, freqs)));
      keys.push(headsOf(matvec(get(`${p}.self_attn.k_proj.weight`), h), c.kvHeads, kNorm).map((k) => rotate(k, pos, freqs)));
      values.push(headsOf(matvec(get(`${p}.self_attn.v_proj.weight`), h), c.kvHeads));
    });
    xs = xs.map((x, pos) => {
      const attended = new Float64Array(c.heads * D);
      for (let head = 0; head < c.heads; head++) {
        const kvHead = Math.floor(head / group);
        const scores = Array.from({ length: pos + 1 }, (_, j) => {
          let s = 0;
          for (let d = 0; d < D; d++) {
            s += queries[pos][head][d] * keys[j][kvHead][d];
          }
          return s / Math.sqrt(D);
        });
        const max = Math.max(...scores);
        const weights = scores.map((s) => Math.exp(s - max));
        const total = weights.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= pos; j++) {
          for (let d = 0; d < D; d++) {
            attended[head * D + d] += (weights[j] / total) * values[j][kvHead][d];
          }
        }
      }
      const afterAttention = x.map((v, i) => v + matvec(get(`${p}.self_attn.o_proj.weight`), attended)[i]);
      const h = rmsNorm(afterAttention, get(`${p}.post_attention_layernorm.weight`).data, c.eps);
      const gate = matvec(get(`${p}.mlp.gate_proj.weight`), h);
      const up = matvec(get(`${p}.mlp.up_proj.weight`), h);
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
      const down = matvec(get(`${p}.mlp.down_proj.weight`), act);
      return afterAttention.map((v, i) => v + down[i]);
    });
  }
  const head = t.get('lm_head.weight') ?? embed;
  return xs.map((x) => matvec(head, rmsNorm(x, get('model.norm.weight').data, c.eps)));
}

const CASES: Array<[string, (config: Record<string, number>) => ReferenceConfig]> = [
  [
    'mlx-omni-test/tiny-llama-fp32',
    (cfg) => ({
      hidden: cfg.hidden_size,
      layers: cfg.num_hidden_layers,
      heads: cfg.num_attention_heads,
      kvHeads: cfg.num_key_value_heads,
      headDim: cfg.head_dim,
      eps: cfg.rms_norm_eps,
      ropeTheta: cfg.rope_theta,
      llama3: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 },
      qkNorm: false,
    }),
  ],
  [
    'mlx-omni-test/tiny-qwen3-fp32',
    (cfg) => ({
      hidden: cfg.hidden_size,
      layers: cfg.num_hidden_layers,
      heads: cfg.num_attention_heads,
      kvHeads: cfg.num_key_value_heads,
      headDim: cfg.head_dim,
      eps: cfg.rms_norm_eps,
      ropeTheta: cfg.rope_theta,
      qkNorm: true,
    }),
  ],
];

describe.each(CASES)('float64 reference forward: %s', (id, referenceConfig) => {
  it("agrees with the engine's logits at every position", async () => {
    const dir = (await ensureFixtures(testHubDir(), [id])).get(id) as string;
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    if (id.includes('llama')) {
      // The reference hard-codes Llama 3.1's rope scaling; make sure the fixture still uses it.
      expect(config['rope_scaling']).toMatchObject({ rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 });
    }
    const tokens = [17, 1000, 42, 99_999 % (config['vocab_size'] as number), 7, 31_337, 5, 12_345];
    const reference = referenceLogits(readTensors(dir), referenceConfig(config as Record<string, number>), tokens);

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
