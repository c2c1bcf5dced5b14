import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The float64 reference of the decoders (Llama, Qwen3, Gemma 3, gpt-oss, GLM): plain typed-array loops
 * straight from the papers and Hugging Face's modeling code, with its own safetensors reader and
 * dequantization (MLX affine, MXFP4). The chat architectures' spec checks logits against it, the
 * embeddings spec Qwen3-Embedding's and Qwen3-Reranker's hidden states. Test support only.
 */

export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Buffer;
}

/** Every tensor of a snapshot (single file or sharded), as stored. */
function readRawTensors(dir: string): Map<string, RawTensor> {
  let files = ['model.safetensors'];
  try {
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    files = [...new Set(Object.values(index.weight_map))];
  } catch {
    // No index: a single-file checkpoint.
  }
  const tensors = new Map<string, RawTensor>();
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
      const [begin, end] = info.data_offsets;
      tensors.set(name, { dtype: info.dtype, shape: info.shape, bytes: bytes.subarray(8 + headerLength + begin, 8 + headerLength + end) });
    }
  }
  return tensors;
}

function floats(t: RawTensor): Float64Array {
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  const widened = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < n; i++) {
    switch (t.dtype) {
      case 'F32':
        out[i] = view.getFloat32(4 * i, true);
        break;
      case 'BF16':
        // bfloat16 is the top half of a float32.
        widened.setUint32(0, view.getUint16(2 * i, true) * 65536, true);
        out[i] = widened.getFloat32(0, true);
        break;
      default:
        throw new Error(`reference: no float reading of ${t.dtype}`);
    }
  }
  return out;
}

/** The `bits`-bit codes of packed uint32 words, lowest bits first (MLX's packing). */
function codes(words: RawTensor, bits: number): Uint8Array {
  const view = new DataView(words.bytes.buffer, words.bytes.byteOffset, words.bytes.byteLength);
  const perWord = 32 / bits;
  const mask = 2 ** bits - 1;
  const count = words.bytes.length / 4;
  const out = new Uint8Array(count * perWord);
  for (let w = 0; w < count; w++) {
    const word = view.getUint32(4 * w, true);
    for (let j = 0; j < perWord; j++) {
      out[w * perWord + j] = (word >>> (j * bits)) & mask;
    }
  }
  return out;
}

const E2M1 = [0, 0.5, 1, 1.5, 2, 3, 4, 6];

/**
 * Float tensors of a snapshot, quantized modules decoded from config.json's quantization block:
 * MLX affine (scale·code + bias per group) and MXFP4 (E2M1 code · 2^(e − 127) per 32 values).
 */
export function readTensors(dir: string, config: Record<string, unknown>): Map<string, Matrix> {
  const raw = readRawTensors(dir);
  const quantization = (config['quantization'] ?? {}) as Record<string, unknown>;
  const tensors = new Map<string, Matrix>();
  const matrix = (shape: number[], data: Float64Array): Matrix => ({ rows: shape.slice(0, -1).reduce((a, b) => a * b, 1), cols: shape[shape.length - 1] ?? 1, data });
  for (const [name, tensor] of raw) {
    if (name.endsWith('.scales') || name.endsWith('.biases')) {
      continue;
    }
    const module = name.slice(0, -'.weight'.length);
    const scales = name.endsWith('.weight') ? raw.get(`${module}.scales`) : undefined;
    if (scales === undefined) {
      tensors.set(name, matrix(tensor.shape, floats(tensor)));
      continue;
    }
    const params = (quantization[module] ?? quantization) as { bits: number; group_size: number; mode?: string };
    const values = codes(tensor, params.bits);
    const cols = values.length / tensor.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const data = new Float64Array(values.length);
    if (params.mode === 'mxfp4') {
      values.forEach((code, i) => {
        const exponent = scales.bytes[Math.floor(i / 32)];
        data[i] = (code & 8 ? -1 : 1) * E2M1[code & 7] * 2 ** (exponent - 127);
      });
    } else {
      const scale = floats(scales);
      const bias = floats(raw.get(`${module}.biases`)!);
      values.forEach((code, i) => {
        const g = Math.floor(i / params.group_size);
        data[i] = scale[g] * code + bias[g];
      });
    }
    tensors.set(name, matrix([...tensor.shape.slice(0, -1), cols], data));
  }
  return tensors;
}

/** y = W x for W [rows, cols]. */
export function matvec(w: Matrix, x: Float64Array): Float64Array {
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

export function rmsNorm(x: Float64Array, weight: Float64Array, eps: number): Float64Array {
  let meanSquare = 0;
  for (const v of x) {
    meanSquare += v * v;
  }
  const inv = 1 / Math.sqrt(meanSquare / x.length + eps);
  return x.map((v, i) => v * inv * weight[i]);
}

export interface RopeSettings {
  theta: number;
  /** Linear rope scaling divides positions by this. */
  positionDivisor: number;
  llama3?: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number };
  /** YaRN as Hugging Face's _compute_yarn_parameters has it (truncate false: no rounding of the ramp). */
  yarn?: { factor: number; betaFast: number; betaSlow: number; originalContext: number };
  /** Rotate only this many leading dimensions of each head (partial_rotary_factor). */
  dims?: number;
}

export interface ReferenceConfig {
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
  /** Keys a layer sees: the last `window` positions (Infinity: all). */
  window?: (layer: number) => number;
  /** Biases on q/k/v (and on o when `outBias`). */
  qkvBias?: boolean;
  outBias?: boolean;
  /** gpt-oss: a learned logit per head joins each softmax. */
  sinks?: boolean;
  /** The MLP of a layer, when not the dense gated one. */
  mlp?: (layer: number, get: (name: string) => Matrix, h: Float64Array) => Float64Array;
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
    if (rope.yarn) {
      const { factor, betaFast, betaSlow, originalContext } = rope.yarn;
      const correction = (rotations: number) => (headDim * Math.log(originalContext / (rotations * 2 * Math.PI))) / (2 * Math.log(rope.theta));
      const low = Math.max(correction(betaFast), 0);
      const high = Math.min(correction(betaSlow), headDim - 1);
      const ramp = Math.min(Math.max((i - low) / (high - low), 0), 1);
      f = (f / factor) * ramp + f * (1 - ramp);
    }
    freqs[i] = f / rope.positionDivisor;
  }
  return freqs;
}

/** YaRN's attention factor, multiplying cos and sin. */
function ropeMagnitude(rope: RopeSettings): number {
  return rope.yarn ? 0.1 * Math.log(rope.yarn.factor) + 1 : 1;
}

/** Rotate-half rotary embedding of the first 2·freqs.length dimensions of one head vector at `position`. */
function rotate(v: Float64Array, position: number, freqs: Float64Array, magnitude = 1): Float64Array {
  const half = freqs.length;
  const out = Float64Array.from(v);
  for (let i = 0; i < half; i++) {
    const cos = magnitude * Math.cos(position * freqs[i]);
    const sin = magnitude * Math.sin(position * freqs[i]);
    out[i] = v[i] * cos - v[i + half] * sin;
    out[i + half] = v[i + half] * cos + v[i] * sin;
  }
  return out;
}

const silu = (g: number) => g / (1 + Math.exp(-g));
const geluTanh = (g: number) => 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g ** 3)));

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]);
}

/** down(act(gate(h)) ⊙ up(h)) for the gated MLP at `path`. */
function gatedMlp(get: (name: string) => Matrix, path: string, h: Float64Array, act: (g: number) => number): Float64Array {
  const gate = matvec(get(`${path}.gate_proj.weight`), h);
  const up = matvec(get(`${path}.up_proj.weight`), h);
  return matvec(get(`${path}.down_proj.weight`), gate.map((g, i) => act(g) * up[i]));
}

/** Expert e of a stacked [experts, out, in] matrix. */
function expert(m: Matrix, e: number, experts: number): Matrix {
  const rows = m.rows / experts;
  return { rows, cols: m.cols, data: m.data.subarray(e * rows * m.cols, (e + 1) * rows * m.cols) };
}

/** Indices of the k largest values, largest first. */
function topK(values: ArrayLike<number>, k: number): number[] {
  return Array.from(values, (v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, k)
    .map(([, i]) => i);
}

/**
 * gpt-oss's MoE (OpenAI's reference): the k highest router logits, softmax over them; each expert
 * a biased SwiGLU with the gate clamped above at 7, the linear half clamped to ±7 and offset by one.
 */
export function gptOssMlp(experts: number, k: number) {
  return (layer: number, get: (name: string) => Matrix, h: Float64Array): Float64Array => {
    const p = `model.layers.${layer}.mlp`;
    const logits = add(matvec(get(`${p}.router.weight`), h), get(`${p}.router.bias`).data);
    const chosen = topK(logits, k);
    const max = Math.max(...chosen.map((e) => logits[e]));
    const exps = chosen.map((e) => Math.exp(logits[e] - max));
    const total = exps.reduce((a, b) => a + b, 0);
    let out = new Float64Array(h.length);
    chosen.forEach((e, n) => {
      const proj = (name: string, x: Float64Array) => {
        const bias = get(`${p}.experts.${name}.bias`);
        const rows = bias.data.length / experts;
        return add(matvec(expert(get(`${p}.experts.${name}.weight`), e, experts), x), bias.data.subarray(e * rows, (e + 1) * rows));
      };
      const gate = proj('gate_proj', h).map((g) => Math.min(g, 7));
      const up = proj('up_proj', h).map((u) => Math.min(Math.max(u, -7), 7));
      const act = gate.map((g, i) => (g / (1 + Math.exp(-1.702 * g))) * (up[i] + 1));
      const y = proj('down_proj', act);
      out = out.map((v, i) => v + (exps[n] / total) * y[i]);
    });
    return out;
  };
}

/**
 * GLM-4.5's MoE (Hugging Face's Glm4MoeTopkRouter): sigmoid scores; with the correction bias
 * added, groups ranked by the sum of their two best scores and all but the best `topKGroups`
 * dropped; the k best biased scores chosen, weighted by their plain scores, renormalised and
 * scaled; plus the shared experts. Layers before `denseLayers` are a dense SwiGLU.
 */
export function glmMlp(o: { experts: number; k: number; groups: number; topKGroups: number; scale: number; denseLayers: number }) {
  return (layer: number, get: (name: string) => Matrix, h: Float64Array): Float64Array => {
    const p = `model.layers.${layer}.mlp`;
    if (layer < o.denseLayers) {
      return gatedMlp(get, p, h, silu);
    }
    const scores = matvec(get(`${p}.gate.weight`), h).map((v) => 1 / (1 + Math.exp(-v)));
    const correction = get(`${p}.gate.e_score_correction_bias`).data;
    const biased = scores.map((v, e) => v + correction[e]);
    const perGroup = o.experts / o.groups;
    const groupScore = Array.from({ length: o.groups }, (_, g) => {
      const members = Array.from(biased.subarray(g * perGroup, (g + 1) * perGroup));
      return topK(members, 2).reduce((sum, i) => sum + members[i], 0);
    });
    const keptGroups = new Set(topK(groupScore, o.topKGroups));
    const eligible = biased.map((v, e) => (keptGroups.has(Math.floor(e / perGroup)) ? v : 0));
    const chosen = topK(eligible, o.k);
    const total = chosen.reduce((sum, e) => sum + scores[e], 0);
    let out = gatedMlp(get, `${p}.shared_experts`, h, silu);
    for (const e of chosen) {
      const y = gatedMlp(get, `${p}.experts.${e}`, h, silu);
      out = add(out, y.map((v) => v * (scores[e] / total) * o.scale));
    }
    return out;
  };
}

/** The final hidden states (after the last norm), position by position. */
export function referenceStates(t: Map<string, Matrix>, c: ReferenceConfig, tokens: number[]): Float64Array[] {
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
  const embed = get('model.embed_tokens.weight');
  const D = c.headDim;
  const group = c.heads / c.kvHeads;
  const scale = gemma ? 1 / Math.sqrt(gemma.queryPreAttnScalar) : 1 / Math.sqrt(D);
  let xs: Float64Array[] = tokens.map((tok) => embed.data.slice(tok * c.hidden, (tok + 1) * c.hidden).map((v) => (gemma ? v * Math.sqrt(c.hidden) : v)));

  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`;
    const rope = c.rope(l);
    const freqs = inverseFrequencies(rope.dims ?? D, rope);
    const magnitude = ropeMagnitude(rope);
    const window = gemma && (l + 1) % gemma.pattern !== 0 ? gemma.window : (c.window?.(l) ?? Infinity);
    const project = (name: string, v: Float64Array, bias: boolean | undefined): Float64Array => {
      const y = matvec(get(`${p}.self_attn.${name}.weight`), v);
      return bias ? add(y, get(`${p}.self_attn.${name}.bias`).data) : y;
    };
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
      queries.push(headsOf(project('q_proj', h, c.qkvBias), c.heads, qNorm).map((q) => rotate(q, pos, freqs, magnitude)));
      keys.push(headsOf(project('k_proj', h, c.qkvBias), c.kvHeads, kNorm).map((k) => rotate(k, pos, freqs, magnitude)));
      values.push(headsOf(project('v_proj', h, c.qkvBias), c.kvHeads));
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
        const sink = c.sinks ? get(`${p}.self_attn.sinks`).data[head] : -Infinity;
        const max = Math.max(...scores, sink);
        const weights = scores.map((s) => Math.exp(s - max));
        // The sink takes its share of the softmax and contributes no value.
        const total = weights.reduce((a, b) => a + b, 0) + Math.exp(sink - max);
        visible.forEach((j, n) => {
          for (let d = 0; d < D; d++) {
            attended[head * D + d] += (weights[n] / total) * values[j][kvHead][d];
          }
        });
      }
      let attentionOut = project('o_proj', attended, c.outBias);
      if (gemma) {
        attentionOut = norm(attentionOut, `${p}.post_attention_layernorm.weight`);
      }
      const afterAttention = add(x, attentionOut);
      const h = norm(afterAttention, gemma ? `${p}.pre_feedforward_layernorm.weight` : `${p}.post_attention_layernorm.weight`);
      let mlpOut = c.mlp?.(l, get, h) ?? gatedMlp(get, `${p}.mlp`, h, gemma ? geluTanh : silu);
      if (gemma) {
        mlpOut = norm(mlpOut, `${p}.post_feedforward_layernorm.weight`);
      }
      return add(afterAttention, mlpOut);
    });
  }
  return xs.map((x) => norm(x, 'model.norm.weight'));
}

/** Vocabulary logits at every position: the final states through lm_head, or the tied embedding. */
export function referenceLogits(t: Map<string, Matrix>, c: ReferenceConfig, tokens: number[]): Float64Array[] {
  const head = t.get('lm_head.weight') ?? t.get('model.embed_tokens.weight')!;
  return referenceStates(t, c, tokens).map((x) => matvec(head, x));
}

