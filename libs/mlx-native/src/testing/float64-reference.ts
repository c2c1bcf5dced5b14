import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Building blocks of the float64 reference forwards the specs check the engine against: plain
 * typed-array loops written from the papers and Hugging Face's modeling code, with their own
 * safetensors reader and MLX dequantization, so that a misunderstanding would have to be made twice.
 * Test support only; nothing in the engine imports it.
 */

/** A checkpoint tensor read row by row in float64 (a 1-D tensor is one row). */
export interface Tensor {
  shape: number[];
  row(index: number): Float64Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** IEEE half precision → number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) {
    return sign * 2 ** -14 * (fraction / 1024);
  }
  if (exponent === 31) {
    return fraction ? NaN : sign * Infinity;
  }
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Element i of a stored float tensor, whatever its dtype. */
function floatReader(dtype: string, bytes: Buffer): (i: number) => number {
  switch (dtype) {
    case 'F32':
      return (i) => bytes.readFloatLE(i * 4);
    case 'F16':
      return (i) => halfToFloat(bytes.readUInt16LE(i * 2));
    case 'BF16': {
      const word = Buffer.alloc(4);
      return (i) => {
        word.writeUInt32LE(bytes.readUInt16LE(i * 2) << 16 >>> 0, 0);
        return word.readFloatLE(0);
      };
    }
    default:
      throw new Error(`reference reader: ${dtype} is not a float dtype`);
  }
}

/**
 * Each row decoded once, on first use: matvec reads every row of a weight for every token, while of
 * a vocabulary-sized table only the rows of the tokens at hand are ever read.
 */
function memoized(shape: number[], decodeRow: (r: number) => Float64Array): Tensor {
  const rows = new Map<number, Float64Array>();
  return {
    shape,
    row: (r) => {
      let row = rows.get(r);
      if (row === undefined) {
        row = decodeRow(r);
        rows.set(r, row);
      }
      return row;
    },
  };
}

function denseTensor(entry: HeaderEntry, bytes: Buffer): Tensor {
  const read = floatReader(entry.dtype, bytes);
  const cols = entry.shape.length > 1 ? entry.shape[entry.shape.length - 1] : entry.shape[0] ?? 1;
  return memoized(entry.shape, (r) => Float64Array.from({ length: cols }, (_, c) => read(r * cols + c)));
}

/**
 * MLX affine quantization, from its definition: each uint32 word packs 32/bits codes, lowest bits
 * first, and element j of group g is scales[g] · code + biases[g].
 */
function dequantizedTensor(packed: { entry: HeaderEntry; bytes: Buffer }, scales: Tensor, biases: Tensor, bits: number, groupSize: number): Tensor {
  const perWord = 32 / bits;
  const wordsPerRow = packed.entry.shape[packed.entry.shape.length - 1];
  const cols = wordsPerRow * perWord;
  const mask = 2 ** bits - 1;
  return memoized([...packed.entry.shape.slice(0, -1), cols], (r) => {
    const s = scales.row(r);
    const b = biases.row(r);
    const out = new Float64Array(cols);
    for (let c = 0; c < cols; c++) {
      const word = packed.bytes.readUInt32LE((r * wordsPerRow + Math.floor(c / perWord)) * 4);
      const code = (word >>> (bits * (c % perWord))) & mask;
      const group = Math.floor(c / groupSize);
      out[c] = s[group] * code + b[group];
    }
    return out;
  });
}

/** The tensors of one safetensors file as stored: header entry and data bytes, by name. */
function rawTensors(path: string): Map<string, { entry: HeaderEntry; bytes: Buffer }> {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, HeaderEntry>;
  const tensors = new Map<string, { entry: HeaderEntry; bytes: Buffer }>();
  for (const [name, entry] of Object.entries(header)) {
    if (name !== '__metadata__') {
      const [begin, end] = entry.data_offsets;
      tensors.set(name, { entry, bytes: bytes.subarray(8 + headerLength + begin, 8 + headerLength + end) });
    }
  }
  return tensors;
}

/** A checkpoint tensor whole, in float64, for references that index flat arrays (Whisper, FLUX). */
export interface FlatTensor {
  shape: number[];
  data: Float64Array;
}

/**
 * The float tensors of a safetensors file (F32, F16, BF16) whole in float64, I64 tensors (Whisper's
 * alignment heads) as their values; added to `into` when given, for a model in several files.
 */
export function readFlatTensors(path: string, into = new Map<string, FlatTensor>()): Map<string, FlatTensor> {
  for (const [name, { entry, bytes }] of rawTensors(path)) {
    const read = entry.dtype === 'I64' ? (i: number) => Number(bytes.readBigInt64LE(i * 8)) : floatReader(entry.dtype, bytes);
    const count = entry.shape.reduce((n, d) => n * d, 1);
    into.set(name, { shape: entry.shape, data: Float64Array.from({ length: count }, (_, i) => read(i)) });
  }
  return into;
}

/** Bits and group size of a quantized module. */
export interface QuantizationParams {
  bits: number;
  group_size: number;
}

/**
 * Every tensor of a snapshot (single file or sharded), parsed from the raw bytes; quantized modules
 * (`.weight` + `.scales` + `.biases`) come back as their dequantized `.weight`. Integer tensors
 * (legacy position ids) are skipped.
 */
export function readTensors(dir: string): Map<string, Tensor> {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { quantization?: QuantizationParams & Record<string, unknown> };
  let files = ['model.safetensors'];
  try {
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    files = [...new Set(Object.values(index.weight_map))];
  } catch {
    // No index: a single-file checkpoint.
  }
  return readSafetensorsFiles(
    files.map((file) => join(dir, file)),
    (module) => {
      const override = config.quantization?.[module];
      return typeof override === 'object' && override !== null ? (override as QuantizationParams) : config.quantization;
    },
  );
}

/**
 * The tensors of safetensors files, as readTensors; a quantized module is dequantized with what
 * `quantizationOf` gives for it (a configless checkpoint says its bits elsewhere, F5-TTS in its file name).
 */
export function readSafetensorsFiles(files: readonly string[], quantizationOf: (module: string) => QuantizationParams | undefined): Map<string, Tensor> {
  const raw = new Map<string, { entry: HeaderEntry; bytes: Buffer }>();
  for (const file of files) {
    for (const [name, tensor] of rawTensors(file)) {
      raw.set(name, tensor);
    }
  }
  const tensors = new Map<string, Tensor>();
  for (const [name, tensor] of raw) {
    if (name.endsWith('.scales') || name.endsWith('.biases') || ['I64', 'I32', 'U32', 'BOOL'].includes(tensor.entry.dtype)) {
      continue;
    }
    tensors.set(name, denseTensor(tensor.entry, tensor.bytes));
  }
  for (const name of raw.keys()) {
    if (!name.endsWith('.scales')) {
      continue;
    }
    const module = name.slice(0, -'.scales'.length);
    const params = quantizationOf(module);
    if (!params) {
      throw new Error(`reference reader: ${name} without a quantization block`);
    }
    const part = (suffix: string) => denseTensor(raw.get(`${module}.${suffix}`)!.entry, raw.get(`${module}.${suffix}`)!.bytes);
    tensors.set(`${module}.weight`, dequantizedTensor(raw.get(`${module}.weight`)!, part('scales'), part('biases'), params.bits, params.group_size));
  }
  return tensors;
}

/** The tensor's values in order (a norm's weight, a bias). */
export function values(t: Tensor): Float64Array {
  return t.row(0);
}

/** y = W x (+ b) for W [rows, cols]. */
export function matvec(w: Tensor, x: Float64Array, bias?: Tensor): Float64Array {
  const rows = w.shape[0];
  const y = new Float64Array(rows);
  const b = bias ? values(bias) : undefined;
  for (let r = 0; r < rows; r++) {
    const row = w.row(r);
    let sum = b ? b[r] : 0;
    for (let c = 0; c < row.length; c++) {
      sum += row[c] * x[c];
    }
    y[r] = sum;
  }
  return y;
}

export function layerNorm(x: Float64Array, weight: Float64Array, bias: Float64Array | undefined, eps: number): Float64Array {
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
  const inv = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * inv * weight[i] + (bias ? bias[i] : 0));
}

/** erf by its Maclaurin series (float64-exact for |x| < 4, where the reference needs it) and ±1 beyond. */
export function erf(x: number): number {
  if (Math.abs(x) >= 4) {
    return Math.sign(x);
  }
  let term = x;
  let sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
export const silu = (g: number) => g / (1 + Math.exp(-g));
export const geluTanh = (g: number) => 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g ** 3)));

/** Rotate-half rotary embedding of one head vector at `position`, with inverse frequencies `freqs`. */
export function rotate(v: Float64Array, position: number, freqs: Float64Array): Float64Array {
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

/** Plain rope frequencies θ^(−2i/d). */
export function ropeFrequencies(headDim: number, theta: number): Float64Array {
  return Float64Array.from({ length: headDim / 2 }, (_, i) => theta ** ((-2 * i) / headDim));
}

/**
 * Softmax attention of one query head over the keys `visible` lets through: Σ softmax(q·k · scale) v.
 */
export function attend(query: Float64Array, keys: Float64Array[], vals: Float64Array[], visible: number[], scale: number): Float64Array {
  const scores = visible.map((j) => query.reduce((sum, q, d) => sum + q * keys[j][d], 0) * scale);
  const max = Math.max(...scores);
  const weights = scores.map((s) => Math.exp(s - max));
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Float64Array(query.length);
  visible.forEach((j, n) => {
    for (let d = 0; d < out.length; d++) {
      out[d] += (weights[n] / total) * vals[j][d];
    }
  });
  return out;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}
