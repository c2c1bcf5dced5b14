import { core as mx } from '@frost-beta/mlx';
import { ensureKokoroFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceNoise } from './decoder';
import { loadKokoroModel } from './load';
import { Stft } from '../../audio/stft';

/** What the engine fed its source STFT and the phases it got, recorded for the comparison. */
const seen: { source: number[]; phase: number[][] } = { source: [], phase: [] };
const magnitudePhase = Stft.prototype.magnitudePhase;
Stft.prototype.magnitudePhase = function (this: Stft, signal: mx.array) {
  const out = magnitudePhase.call(this, signal);
  seen.source = signal.tolist() as number[];
  seen.phase = out.phase.tolist() as number[][];
  return out;
};

jest.setTimeout(300_000);

/**
 * An independent float64 Kokoro forward from phoneme ids, in plain loops over channels-first arrays,
 * written from hexgrad's kokoro/model.py, modules.py and istftnet.py and PyTorch's documented operator
 * semantics (conv1d, conv_transpose1d, interpolate, stft, istft, LSTM) — not from the engine, which runs
 * channels-last, gathers instead of the alignment matmul and integrates SineGen's phase at the frame
 * rate. Its own safetensors reader, BF16 decoding and MLX affine dequantization included. The engine's
 * durations must equal the reference's, and its waveform, given the same noise draws, be close.
 *
 * One thing float32 cannot reproduce: the angle of a source-STFT bin that is (nearly) zero or sits on the
 * branch cut is decided by rounding, and iSTFTNet feeds angles to a convolution as they are, so a ±π flip
 * in one bin is a visible local difference. For those few bins (AMBIGUOUS_BIN, well under 1%) the
 * reference takes the engine's angle; everything else is computed here.
 */

type Tensor = { shape: number[]; data: Float64Array };
/** Channels-first signal: one Float64Array per channel. */
type Signal = Float64Array[];

function readSafetensors(path: string): Map<string, Tensor> {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, Tensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      continue;
    }
    const start = 8 + headerLength + info.data_offsets[0];
    const raw = bytes.subarray(start, 8 + headerLength + info.data_offsets[1]);
    const count = info.shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      switch (info.dtype) {
        case 'F32':
          data[i] = raw.readFloatLE(4 * i);
          break;
        case 'BF16': {
          const word = Buffer.alloc(4);
          word.writeUInt16LE(raw.readUInt16LE(2 * i), 2);
          data[i] = word.readFloatLE(0);
          break;
        }
        case 'U32':
          data[i] = raw.readUInt32LE(4 * i);
          break;
        case 'I64':
          data[i] = Number(raw.readBigInt64LE(8 * i));
          break;
        default:
          throw new Error(`dtype ${info.dtype}`);
      }
    }
    out.set(name, { shape: info.shape, data });
  }
  return out;
}

/** The checkpoint in hexgrad's names and PyTorch layouts, dequantized, whatever the file's naming. */
function torchWeights(dir: string): Map<string, Tensor> {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { quantization?: { group_size: number; bits: number } };
  const file = readdirSync(dir).find((name) => name.endsWith('.safetensors'))!;
  const stored = readSafetensors(join(dir, file));
  const out = new Map<string, Tensor>();
  const mlxNaming = [...stored.keys()].some((name) => name.endsWith('.Wx_forward'));
  for (const [name, tensor] of stored) {
    if (name.endsWith('.scales') || name.endsWith('.biases')) {
      continue;
    }
    let t = tensor;
    const module = name.replace(/\.weight$/, '');
    if (name.endsWith('.weight') && stored.has(`${module}.scales`)) {
      // MLX affine: value = scale·code + bias per group; codes packed little end first in uint32 words.
      const { group_size: group, bits } = config.quantization!;
      const scales = stored.get(`${module}.scales`)!.data;
      const biases = stored.get(`${module}.biases`)!.data;
      const rows = t.shape[0];
      const perWord = 32 / bits;
      const cols = t.shape[1] * perWord;
      const data = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const word = t.data[r * t.shape[1] + Math.floor(c / perWord)];
          const code = Math.floor(word / 2 ** (bits * (c % perWord))) % 2 ** bits;
          const g = r * (cols / group) + Math.floor(c / group);
          data[r * cols + c] = scales[g] * code + biases[g];
        }
      }
      t = { shape: [rows, cols], data };
    }
    let torchName = name;
    if (mlxNaming) {
      const lstm = /^(.*)\.(Wx|Wh|bias_ih|bias_hh)_(forward|backward)$/.exec(name);
      if (lstm) {
        const kind = { Wx: 'weight_ih', Wh: 'weight_hh', bias_ih: 'bias_ih', bias_hh: 'bias_hh' }[lstm[2] as 'Wx'];
        torchName = `${lstm[1]}.${kind}_l0${lstm[3] === 'backward' ? '_reverse' : ''}`;
      } else if (/^text_encoder\.cnn\.\d+\.1\.(weight|bias)$/.test(name)) {
        torchName = name.replace(/weight$/, 'gamma').replace(/bias$/, 'beta');
      }
      // mlx-audio stores every convolution weight with its last two axes swapped.
      if (t.shape.length === 3 && (name.endsWith('.weight_v') || /(noise_convs\.\d+|F0_proj|N_proj)\.weight$/.test(name))) {
        const [a, b, c] = t.shape;
        const data = new Float64Array(t.data.length);
        for (let i = 0; i < a; i++) {
          for (let j = 0; j < b; j++) {
            for (let k = 0; k < c; k++) {
              data[i * b * c + k * b + j] = t.data[i * b * c + j * c + k];
            }
          }
        }
        t = { shape: [a, c, b], data };
      }
    }
    out.set(torchName, t);
  }
  return out;
}

class Reference {
  constructor(
    private readonly w: Map<string, Tensor>,
    private readonly config: Record<string, any>,
  ) {}

  get(name: string): Tensor {
    const t = this.w.get(name);
    if (!t) {
      throw new Error(`missing ${name}`);
    }
    return t;
  }

  has(name: string): boolean {
    return this.w.has(name);
  }

  /** y = W x + b for one vector. */
  linear(name: string, x: Float64Array, bias = true): Float64Array {
    const w = this.get(`${name}.weight`);
    const [rows, cols] = w.shape;
    const b = bias ? this.get(`${name}.bias`).data : undefined;
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let sum = b ? b[r] : 0;
      for (let c = 0; c < cols; c++) {
        sum += w.data[r * cols + c] * x[c];
      }
      y[r] = sum;
    }
    return y;
  }

  /** Weight-normed weight: g · v / ‖v‖ over all but axis 0. */
  convWeight(name: string): Tensor {
    if (!this.has(`${name}.weight_v`)) {
      return this.get(`${name}.weight`);
    }
    const v = this.get(`${name}.weight_v`);
    const g = this.get(`${name}.weight_g`).data;
    const per = v.data.length / v.shape[0];
    const data = new Float64Array(v.data.length);
    for (let o = 0; o < v.shape[0]; o++) {
      let norm = 0;
      for (let i = 0; i < per; i++) {
        norm += v.data[o * per + i] ** 2;
      }
      norm = Math.sqrt(norm);
      for (let i = 0; i < per; i++) {
        data[o * per + i] = (g[o] * v.data[o * per + i]) / norm;
      }
    }
    return { shape: v.shape, data };
  }

  /** torch.nn.functional.conv1d on x [in][T] with weight [out, in/groups, k]. */
  conv1d(name: string, x: Signal, opts: { stride?: number; padding?: number; dilation?: number; groups?: number; bias?: boolean } = {}): Signal {
    const { stride = 1, padding = 0, dilation = 1, groups = 1 } = opts;
    const w = this.convWeight(name);
    const [outC, inPer, k] = w.shape;
    const bias = opts.bias === false ? undefined : this.get(`${name}.bias`).data;
    const length = x[0].length;
    const outLength = Math.floor((length + 2 * padding - dilation * (k - 1) - 1) / stride) + 1;
    const outPer = outC / groups;
    const y: Signal = [];
    for (let o = 0; o < outC; o++) {
      const g = Math.floor(o / outPer);
      const row = new Float64Array(outLength).fill(bias ? bias[o] : 0);
      for (let i = 0; i < inPer; i++) {
        const input = x[g * inPer + i];
        for (let kk = 0; kk < k; kk++) {
          const weight = w.data[(o * inPer + i) * k + kk];
          for (let t = 0; t < outLength; t++) {
            const at = t * stride - padding + kk * dilation;
            if (at >= 0 && at < length) {
              row[t] += weight * input[at];
            }
          }
        }
      }
      y.push(row);
    }
    return y;
  }

  /** torch.nn.functional.conv_transpose1d with weight [in, out/groups, k]. */
  convTranspose1d(name: string, x: Signal, opts: { stride: number; padding: number; outputPadding?: number; groups?: number }): Signal {
    const { stride, padding, outputPadding = 0, groups = 1 } = opts;
    const w = this.convWeight(name);
    const [inC, outPer, k] = w.shape;
    const bias = this.get(`${name}.bias`).data;
    const length = x[0].length;
    const outLength = (length - 1) * stride - 2 * padding + k + outputPadding;
    const inPer = inC / groups;
    const y: Signal = Array.from({ length: outPer * groups }, (_, o) => new Float64Array(outLength).fill(bias[o]));
    for (let i = 0; i < inC; i++) {
      const g = Math.floor(i / inPer);
      for (let o = 0; o < outPer; o++) {
        for (let kk = 0; kk < k; kk++) {
          const weight = w.data[(i * outPer + o) * k + kk];
          for (let j = 0; j < length; j++) {
            const t = j * stride - padding + kk;
            if (t >= 0 && t < outLength) {
              y[g * outPer + o][t] += weight * x[i][j];
            }
          }
        }
      }
    }
    return y;
  }

  /** A PyTorch bidirectional LSTM over steps [T][in] → [T][2h]. */
  lstm(name: string, x: Float64Array[]): Float64Array[] {
    const run = (suffix: string, reverse: boolean) => {
      const wih = this.get(`${name}.weight_ih_l0${suffix}`);
      const whh = this.get(`${name}.weight_hh_l0${suffix}`);
      const bih = this.get(`${name}.bias_ih_l0${suffix}`).data;
      const bhh = this.get(`${name}.bias_hh_l0${suffix}`).data;
      const hidden = whh.shape[1];
      let h = new Float64Array(hidden);
      let c = new Float64Array(hidden);
      const out: Float64Array[] = new Array(x.length);
      const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
      for (let s = 0; s < x.length; s++) {
        const t = reverse ? x.length - 1 - s : s;
        const gates = new Float64Array(4 * hidden);
        for (let r = 0; r < 4 * hidden; r++) {
          let sum = bih[r] + bhh[r];
          for (let j = 0; j < wih.shape[1]; j++) {
            sum += wih.data[r * wih.shape[1] + j] * x[t][j];
          }
          for (let j = 0; j < hidden; j++) {
            sum += whh.data[r * hidden + j] * h[j];
          }
          gates[r] = sum;
        }
        const nextC = new Float64Array(hidden);
        const nextH = new Float64Array(hidden);
        for (let j = 0; j < hidden; j++) {
          nextC[j] = sigmoid(gates[hidden + j]) * c[j] + sigmoid(gates[j]) * Math.tanh(gates[2 * hidden + j]);
          nextH[j] = sigmoid(gates[3 * hidden + j]) * Math.tanh(nextC[j]);
        }
        h = nextH;
        c = nextC;
        out[t] = h;
      }
      return out;
    };
    const forward = run('', false);
    const backward = run('_reverse', true);
    return x.map((_, t) => Float64Array.from([...forward[t], ...backward[t]]));
  }
}

const transpose = (x: Float64Array[]): Float64Array[] => Array.from({ length: x[0].length }, (_, j) => Float64Array.from(x, (row) => row[j]));
const leaky = (x: Signal, slope: number): Signal => x.map((row) => row.map((v) => (v > 0 ? v : v * slope)));
const addSignals = (a: Signal, b: Signal): Signal => a.map((row, c) => row.map((v, t) => v + b[c][t]));

function layerNorm(x: Float64Array, eps: number, gamma?: Float64Array, beta?: Float64Array): Float64Array {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * (gamma ? gamma[i] : 1) + (beta ? beta[i] : 0));
}

/** AdaIN1d: (1 + γ) · InstanceNorm(x) + β, γ and β from the style. */
function adaIn(ref: Reference, name: string, x: Signal, style: Float64Array): Signal {
  const h = ref.linear(`${name}.fc`, style);
  const channels = x.length;
  return x.map((row, c) => {
    const mean = row.reduce((a, b) => a + b, 0) / row.length;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
    return row.map((v) => (1 + h[c]) * ((v - mean) / Math.sqrt(variance + 1e-5)) + h[channels + c]);
  });
}

function adainResBlk1d(ref: Reference, name: string, x: Signal, style: Float64Array, upsample: boolean): Signal {
  let r = leaky(adaIn(ref, `${name}.norm1`, x, style), 0.2);
  if (upsample) {
    r = ref.convTranspose1d(`${name}.pool`, r, { stride: 2, padding: 1, outputPadding: 1, groups: x.length });
  }
  r = ref.conv1d(`${name}.conv1`, r, { padding: 1 });
  r = ref.conv1d(`${name}.conv2`, leaky(adaIn(ref, `${name}.norm2`, r, style), 0.2), { padding: 1 });
  let s = upsample ? x.map((row) => Float64Array.from({ length: row.length * 2 }, (_, t) => row[Math.floor(t / 2)])) : x;
  if (ref.has(`${name}.conv1x1.weight_v`)) {
    s = ref.conv1d(`${name}.conv1x1`, s, { bias: false });
  }
  return r.map((row, c) => row.map((v, t) => (v + s[c][t]) / Math.SQRT2));
}

function adaInResBlock1(ref: Reference, name: string, x: Signal, style: Float64Array, kernel: number, dilations: number[]): Signal {
  const snake = (s: Signal, alpha: string) => {
    const a = ref.get(alpha).data;
    return s.map((row, c) => row.map((v) => v + Math.sin(a[c] * v) ** 2 / a[c]));
  };
  for (let j = 0; j < 3; j++) {
    let xt: Signal = snake(adaIn(ref, `${name}.adain1.${j}`, x, style), `${name}.alpha1.${j}`);
    xt = ref.conv1d(`${name}.convs1.${j}`, xt, { dilation: dilations[j], padding: Math.floor((kernel * dilations[j] - dilations[j]) / 2) });
    xt = snake(adaIn(ref, `${name}.adain2.${j}`, xt, style), `${name}.alpha2.${j}`);
    xt = ref.conv1d(`${name}.convs2.${j}`, xt, { padding: Math.floor((kernel - 1) / 2) });
    x = addSignals(xt, x);
  }
  return x;
}

/** F.interpolate(mode='linear', align_corners=False, scale_factor) on one series. */
function interpolateLinear(x: Float64Array, scaleFactor: number): Float64Array {
  const outLength = Math.floor(x.length * scaleFactor);
  const scale = 1 / scaleFactor;
  return Float64Array.from({ length: outLength }, (_, d) => {
    const src = Math.max(scale * (d + 0.5) - 0.5, 0);
    const i0 = Math.floor(src);
    const i1 = Math.min(i0 + 1, x.length - 1);
    const lambda = src - i0;
    return (1 - lambda) * x[i0] + lambda * x[i1];
  });
}

function hann(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
}

/**
 * The angle of a bin is ill-conditioned where the bin is nearly zero, or on the branch cut (negative real
 * part, imaginary part nearly zero): float32 rounding alone decides it there, in torch as in the engine.
 * Bins are O(1e-2); the engine's float32 source differs from this one by ~3e-5 per sample, ~1e-4 per bin.
 */
const AMBIGUOUS_BIN = 1e-5;

/** torch.stft(center=True, reflect) → magnitude and angle [bins][frames]; `align` supplies the angle of ill-conditioned bins. */
function stft(signal: Float64Array, nFft: number, hop: number, align: (frame: number, bin: number) => number): { magnitude: Signal; phase: Signal; aligned: number } {
  const pad = nFft / 2;
  const padded = new Float64Array(signal.length + 2 * pad);
  for (let i = 0; i < padded.length; i++) {
    let j = i - pad;
    if (j < 0) {
      j = -j;
    } else if (j >= signal.length) {
      j = 2 * (signal.length - 1) - j;
    }
    padded[i] = signal[j];
  }
  const window = hann(nFft);
  const frames = Math.floor(signal.length / hop) + 1;
  const bins = nFft / 2 + 1;
  const magnitude = Array.from({ length: bins }, () => new Float64Array(frames));
  const phase = Array.from({ length: bins }, () => new Float64Array(frames));
  let aligned = 0;
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < bins; k++) {
      let re = 0;
      let im = 0;
      for (let n = 0; n < nFft; n++) {
        const angle = (2 * Math.PI * ((k * n) % nFft)) / nFft;
        re += padded[f * hop + n] * window[n] * Math.cos(angle);
        im -= padded[f * hop + n] * window[n] * Math.sin(angle);
      }
      // Exactly real in exact arithmetic (DC, Nyquist, the symmetric first frame): +0, as an FFT's cancellation gives.
      const real = k === 0 || k === nFft / 2 || f === 0;
      if (real) {
        im = 0;
      }
      magnitude[k][f] = Math.hypot(re, im);
      const ambiguous = magnitude[k][f] < AMBIGUOUS_BIN || (!real && re < 0 && Math.abs(im) < AMBIGUOUS_BIN);
      phase[k][f] = ambiguous ? align(f, k) : Math.atan2(im, re);
      aligned += ambiguous ? 1 : 0;
    }
  }
  return { magnitude, phase, aligned };
}

/** torch.istft(center=True): irfft of each frame, windowed overlap-add, divided by the summed squared window. */
function istft(magnitude: Signal, phase: Signal, nFft: number, hop: number): Float64Array {
  const frames = magnitude[0].length;
  const bins = nFft / 2 + 1;
  const window = hann(nFft);
  const total = nFft + hop * (frames - 1);
  const out = new Float64Array(total);
  const envelope = new Float64Array(total);
  for (let f = 0; f < frames; f++) {
    for (let n = 0; n < nFft; n++) {
      let sum = 0;
      for (let k = 0; k < bins; k++) {
        const re = magnitude[k][f] * Math.cos(phase[k][f]);
        const im = magnitude[k][f] * Math.sin(phase[k][f]);
        const angle = (2 * Math.PI * ((k * n) % nFft)) / nFft;
        const edge = k === 0 || k === nFft / 2;
        sum += edge ? re * Math.cos(angle) : 2 * (re * Math.cos(angle) - im * Math.sin(angle));
      }
      out[f * hop + n] += (sum / nFft) * window[n];
      envelope[f * hop + n] += window[n] ** 2;
    }
  }
  return Float64Array.from({ length: hop * (frames - 1) }, (_, i) => out[i + nFft / 2] / envelope[i + nFft / 2]);
}

interface Draws {
  phases: Float64Array;
  /** Standard normal draw for (sample, harmonic), the same whoever asks. */
  gaussian(sample: number, harmonic: number): number;
}

/** hexgrad's forward_with_tokens, from ids and a style row. */
function referenceForward(
  ref: Reference,
  config: Record<string, any>,
  ids: number[],
  style: Float64Array,
  speed: number,
  draws: Draws,
  alignPhase: (frame: number, bin: number) => number,
) {
  const styleDim: number = config['style_dim'];
  const plbert = config['plbert'];
  const bertHidden: number = plbert.hidden_size;
  const heads: number = plbert.num_attention_heads;
  const eps = 1e-12;
  const T = ids.length;
  const decoderStyle = style.slice(0, styleDim);
  const prosodyStyle = style.slice(styleDim);

  // CustomAlbert: embeddings, mapping in, shared layers (one group), last hidden state.
  const rowOf = (name: string, i: number) => {
    const t = ref.get(name);
    return t.data.slice(i * t.shape[1], (i + 1) * t.shape[1]);
  };
  let h = ids.map((id, t) => {
    const word = rowOf('bert.embeddings.word_embeddings.weight', id);
    const position = rowOf('bert.embeddings.position_embeddings.weight', t);
    const type = rowOf('bert.embeddings.token_type_embeddings.weight', 0);
    const sum = word.map((v, i) => v + position[i] + type[i]);
    const embedded = layerNorm(sum, eps, ref.get('bert.embeddings.LayerNorm.weight').data, ref.get('bert.embeddings.LayerNorm.bias').data);
    return ref.linear('bert.encoder.embedding_hidden_mapping_in', embedded);
  });
  const L = 'bert.encoder.albert_layer_groups.0.albert_layers.0';
  const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  for (let layer = 0; layer < plbert.num_hidden_layers; layer++) {
    const q = h.map((x) => ref.linear(`${L}.attention.query`, x));
    const k = h.map((x) => ref.linear(`${L}.attention.key`, x));
    const v = h.map((x) => ref.linear(`${L}.attention.value`, x));
    const headDim = bertHidden / heads;
    const context = h.map(() => new Float64Array(bertHidden));
    for (let head = 0; head < heads; head++) {
      for (let i = 0; i < T; i++) {
        const scores = Array.from({ length: T }, (_, j) => {
          let s = 0;
          for (let d = 0; d < headDim; d++) {
            s += q[i][head * headDim + d] * k[j][head * headDim + d];
          }
          return s / Math.sqrt(headDim);
        });
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const z = exps.reduce((a, b) => a + b, 0);
        for (let j = 0; j < T; j++) {
          for (let d = 0; d < headDim; d++) {
            context[i][head * headDim + d] += (exps[j] / z) * v[j][head * headDim + d];
          }
        }
      }
    }
    const attended = h.map((x, i) => {
      const dense = ref.linear(`${L}.attention.dense`, context[i]);
      return layerNorm(dense.map((d, c) => d + x[c]), eps, ref.get(`${L}.attention.LayerNorm.weight`).data, ref.get(`${L}.attention.LayerNorm.bias`).data);
    });
    h = attended.map((a) => {
      const ffn = ref.linear(`${L}.ffn_output`, ref.linear(`${L}.ffn`, a).map(gelu));
      return layerNorm(ffn.map((f, c) => f + a[c]), eps, ref.get(`${L}.full_layer_layer_norm.weight`).data, ref.get(`${L}.full_layer_layer_norm.bias`).data);
    });
  }
  const dEn = h.map((x) => ref.linear('bert_encoder', x));

  // DurationEncoder: [features ‖ style] through BiLSTM, AdaLayerNorm, again with the style appended.
  const withStyle = (rows: Float64Array[]) => rows.map((r) => Float64Array.from([...r, ...prosodyStyle]));
  let d = withStyle(dEn);
  for (let l = 0; l < config['n_layer']; l++) {
    const lstmOut = ref.lstm(`predictor.text_encoder.lstms.${2 * l}`, d);
    const fc = ref.linear(`predictor.text_encoder.lstms.${2 * l + 1}.fc`, prosodyStyle);
    const channels = lstmOut[0].length;
    d = withStyle(lstmOut.map((x) => layerNorm(x, 1e-5).map((v, c) => (1 + fc[c]) * v + fc[channels + c])));
  }
  const x = ref.lstm('predictor.lstm', d);
  const durations = x.map((row) => {
    const logits = ref.linear('predictor.duration_proj.linear_layer', row);
    const frames = logits.reduce((a, v) => a + 1 / (1 + Math.exp(-v)), 0) / speed;
    // torch.round: half to even.
    const floor = Math.floor(frames);
    const rounded = frames - floor === 0.5 ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(frames);
    return Math.min(Math.max(rounded, 1), 100);
  });
  const alignment = durations.flatMap((n, t) => Array<number>(n).fill(t));
  const en = transpose(alignment.map((t) => d[t]));

  // F0Ntrain.
  const shared = transpose(ref.lstm('predictor.shared', transpose(en)));
  const branch = (name: string) => {
    let s = adainResBlk1d(ref, `predictor.${name}.0`, shared, prosodyStyle, false);
    s = adainResBlk1d(ref, `predictor.${name}.1`, s, prosodyStyle, true);
    s = adainResBlk1d(ref, `predictor.${name}.2`, s, prosodyStyle, false);
    return ref.conv1d(`predictor.${name}_proj`, s)[0];
  };
  const f0 = branch('F0');
  const noiseCurve = branch('N');

  // TextEncoder.
  let te: Signal = transpose(ids.map((id) => rowOf('text_encoder.embedding.weight', id)));
  const kernel: number = config['text_encoder_kernel_size'];
  for (let l = 0; l < config['n_layer']; l++) {
    te = ref.conv1d(`text_encoder.cnn.${l}.0`, te, { padding: (kernel - 1) / 2 });
    const gamma = ref.get(`text_encoder.cnn.${l}.1.gamma`).data;
    const beta = ref.get(`text_encoder.cnn.${l}.1.beta`).data;
    te = leaky(transpose(transpose(te).map((col) => layerNorm(col, 1e-5, gamma, beta))), 0.2);
  }
  const tEn = ref.lstm('text_encoder.lstm', transpose(te));
  const asr = transpose(alignment.map((t) => tEn[t]));

  // Decoder.
  const F0 = ref.conv1d('decoder.F0_conv', [f0], { stride: 2, padding: 1 });
  const N = ref.conv1d('decoder.N_conv', [noiseCurve], { stride: 2, padding: 1 });
  let xd = adainResBlk1d(ref, 'decoder.encode', [...asr, ...F0, ...N], decoderStyle, false);
  const asrRes = ref.conv1d('decoder.asr_res.0', asr);
  for (let i = 0; i < 4; i++) {
    xd = adainResBlk1d(ref, `decoder.decode.${i}`, [...xd, ...asrRes, ...F0, ...N], decoderStyle, i === 3);
  }

  // Generator.
  const net = config['istftnet'];
  const rates: number[] = net.upsample_rates;
  const nFft: number = net.gen_istft_n_fft;
  const hop: number = net.gen_istft_hop_size;
  const S = rates.reduce((a: number, b: number) => a * b, 1) * hop;
  const sampleRate = 24000;
  const harmonics = ref.get('decoder.generator.m_source.l_linear.weight').shape[1];
  const up = Float64Array.from({ length: f0.length * S }, (_, i) => f0[Math.floor(i / S)]);
  // SineGen: per-sample increments, initial phases at sample 0, linear down/up sampling of the phase.
  const sines: Float64Array[] = [];
  for (let hIdx = 0; hIdx < harmonics; hIdx++) {
    const rad = up.map((f) => {
      const r = (f * (hIdx + 1)) / sampleRate;
      return r - Math.floor(r);
    });
    rad[0] += hIdx === 0 ? 0 : draws.phases[hIdx];
    const down = interpolateLinear(rad, 1 / S);
    let acc = 0;
    const phase = down.map((v) => (acc += v) * 2 * Math.PI * S);
    sines.push(interpolateLinear(phase, S).map((p) => Math.sin(p) * 0.1));
  }
  const merge = ref.get('decoder.generator.m_source.l_linear.weight').data;
  const mergeBias = ref.get('decoder.generator.m_source.l_linear.bias').data[0];
  const har = up.map((f, i) => {
    const voiced = f > 10 ? 1 : 0;
    const amp = voiced * 0.003 + (1 - voiced) * (0.1 / 3);
    let sum = mergeBias;
    for (let hIdx = 0; hIdx < harmonics; hIdx++) {
      sum += merge[hIdx] * (sines[hIdx][i] * voiced + amp * draws.gaussian(i, hIdx));
    }
    return Math.tanh(sum);
  });
  const { magnitude, phase, aligned } = stft(har, nFft, hop, alignPhase);
  const source = [...magnitude, ...phase];
  const resKernels: number[] = net.resblock_kernel_sizes;
  const dilations: number[][] = net.resblock_dilation_sizes;
  let g = xd;
  rates.forEach((rate, i) => {
    g = leaky(g, 0.1);
    const strideF0 = rates.slice(i + 1).reduce((a, b) => a * b, 1);
    const last = i === rates.length - 1;
    let xs = last
      ? ref.conv1d(`decoder.generator.noise_convs.${i}`, source)
      : ref.conv1d(`decoder.generator.noise_convs.${i}`, source, { stride: strideF0, padding: Math.floor((strideF0 + 1) / 2) });
    xs = adaInResBlock1(ref, `decoder.generator.noise_res.${i}`, xs, decoderStyle, last ? 11 : 7, [1, 3, 5]);
    const k = net.upsample_kernel_sizes[i];
    g = ref.convTranspose1d(`decoder.generator.ups.${i}`, g, { stride: rate, padding: Math.floor((k - rate) / 2) });
    if (last) {
      g = g.map((row) => Float64Array.from([row[1], ...row]));
    }
    g = addSignals(g, xs);
    let sum: Signal | undefined;
    resKernels.forEach((rk, j) => {
      const out = adaInResBlock1(ref, `decoder.generator.resblocks.${i * resKernels.length + j}`, g, decoderStyle, rk, dilations[j]);
      sum = sum ? addSignals(sum, out) : out;
    });
    g = sum!.map((row) => row.map((v) => v / resKernels.length));
  });
  const post = ref.conv1d('decoder.generator.conv_post', leaky(g, 0.01), { padding: 3 });
  const bins = nFft / 2 + 1;
  const audio = istft(post.slice(0, bins).map((row) => row.map(Math.exp)), post.slice(bins).map((row) => row.map(Math.sin)), nFft, hop);
  return { durations, audio, source: har, alignedBins: aligned, bins: magnitude.length * magnitude[0].length };
}

/** Counter-based draws for both forwards: a 32-bit integer hash of (seed, counter), Box–Muller for normals. */
function draws(seed: number, harmonics: number): Draws {
  const uniform01 = (counter: number) => {
    let t = (seed ^ Math.imul(counter, 0x9e3779b1)) >>> 0;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    return (((t ^ (t >>> 16)) >>> 0) + 0.5) / 4294967296;
  };
  return {
    phases: Float64Array.from({ length: harmonics }, (_, h) => uniform01(h)),
    gaussian: (sample, harmonic) => {
      const counter = 2 * (sample * harmonics + harmonic) + harmonics;
      return Math.sqrt(-2 * Math.log(uniform01(counter))) * Math.cos(2 * Math.PI * uniform01(counter + 1));
    },
  };
}

function asNoise(d: Draws): SourceNoise {
  return {
    initialPhases: () => mx.array(Array.from(d.phases), mx.float32),
    gaussian: (samples, harmonics) => mx.array(Array.from({ length: samples }, (_, i) => Array.from({ length: harmonics }, (_, h) => d.gaussian(i, h))), mx.float32),
  };
}

const IDS = [0, 50, 83, 54, 156, 57, 135, 16, 65, 156, 86, 123, 54, 46, 4, 0];

describe.each([
  ['mlx-omni-test/tiny-kokoro-fp32', 'dequantized' as const],
  ['mlx-omni-test/tiny-kokoro-4bit', 'dequantized' as const],
  ['mlx-omni-test/tiny-kokoro-4bit', 'quantized' as const],
])('float64 reference Kokoro forward: %s (%s)', (id, weights) => {
  it('predicts the same durations and a close waveform', async () => {
    const dir = (await ensureKokoroFixtures(testHubDir())).get(id)!;
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, any>;
    const ref = new Reference(torchWeights(dir), config);
    const voice = readSafetensors(join(dir, 'voices', 'af_heart.safetensors')).get('voice')!;
    const width = voice.shape[2];
    const row = IDS.length - 3;
    const style = voice.data.slice(row * width, (row + 1) * width);

    const model = await loadKokoroModel(dir, { weights });
    const speed = 1.25;
    const shared = draws(7, 9);
    const engine = await model.forward(IDS, mx.array([Array.from(style)], mx.float32), { speed, noise: asNoise(shared) });
    const reference = referenceForward(ref, config, IDS, style, speed, shared, (frame, bin) => seen.phase[frame][bin]);

    expect(engine.durations).toEqual(reference.durations);
    expect(new Set(reference.durations).size).toBeGreaterThan(1);
    // The harmonic source, before the STFT.
    expect(seen.source.length).toBe(reference.source.length);
    expect(Math.max(...seen.source.map((v, i) => Math.abs(v - reference.source[i])))).toBeLessThan(1e-4);
    // Only a few near-zero bins had their (meaningless) angle taken from the engine.
    expect(reference.alignedBins / reference.bins).toBeLessThan(0.01);
    const audio = engine.audio.tolist() as number[];
    expect(audio.length).toBe(reference.audio.length);
    let maxDiff = 0;
    let peak = 0;
    let error = 0;
    let energy = 0;
    for (let i = 0; i < audio.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(audio[i] - reference.audio[i]));
      peak = Math.max(peak, Math.abs(reference.audio[i]));
      error += (audio[i] - reference.audio[i]) ** 2;
      energy += reference.audio[i] ** 2;
    }
    expect(peak).toBeGreaterThan(0.01);
    expect(Math.sqrt(error / energy)).toBeLessThan(1e-3);
    expect(maxDiff / peak).toBeLessThan(2e-3);
  });
});
