import { core as mx } from '@frost-beta/mlx';
import { ensureF5Fixtures, F5_FIXTURE_SPECS, f5WeightsFile, testHubDir, type F5FixtureSpec } from '@mlx-omni/model-fixtures';
import { F5_VOCODER_REPO } from '@mlx-omni/model-families';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelIncompleteError } from '../../io/errors';
import { arrayFromHost } from '../../io/host-arrays';
import type { WeightsMode } from '../../io/load-weights';
import { PacedWork } from '../../runtime/paced-work';
import { erf, readSafetensorsFiles, type Tensor } from '../../testing/float64-reference';
import { loadF5Model } from './load';
import type { F5Model } from './model';
import { F5Synthesizer } from './synthesizer';

jest.setTimeout(600_000);

/**
 * An independent float64 F5-TTS in plain loops, written from SWivid's F5-TTS (model/cfm.py, backbones/dit.py,
 * modules.py), lucasnewman's f5-tts-mlx (its duration model and sampling defaults), charactr's Vocos and
 * torchaudio's / torch's documented MelSpectrogram and istft: the reference mel by direct DFT, the duration,
 * the DiT, classifier-free guided RK4 on sway-sampled times, Vocos and the inverse STFT. Its own safetensors
 * reading and MLX dequantization (testing/float64-reference), its own reading of both namings. The noise is
 * the one input shared with the engine: the same seeded draw.
 */

type Arr = { shape: number[]; data: Float64Array };
/** A sequence, time-major: one vector per frame. */
type Seq = Float64Array[];

const HOP = 256;
const N_FFT = 1024;
const SAMPLE_RATE = 24000;
const EPS = 1e-6;

// ---------------------------------------------------------------- weights

function materialise(tensor: Tensor): Arr {
  const rows = tensor.shape.length > 1 ? tensor.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
  const cols = tensor.shape.length > 1 ? tensor.shape[tensor.shape.length - 1] : tensor.shape[0] ?? 1;
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    data.set(tensor.row(r), r * cols);
  }
  return { shape: tensor.shape, data };
}

/** f5-tts-mlx's conversion (cfm.py, from_pretrained) read backwards: MLX module paths to SWivid's. */
const MLX_TO_SWIVID: ReadonlyArray<[string, string]> = [
  ['.ff.ff.layers.0.layers.0', '.ff.ff.0.0'],
  ['.ff.ff.layers.2', '.ff.ff.2'],
  ['.to_out.layers', '.to_out'],
  ['.text_blocks.layers', '.text_blocks'],
  ['.time_mlp.layers', '.time_mlp'],
  ['.conv1d.layers', '.conv1d'],
  ['to_pred.layers', 'to_pred'],
];

/** A checkpoint in SWivid's names and PyTorch layouts, dequantized, whatever its naming. */
function swividWeights(file: string, quantization?: { bits: number; groupSize: number }): Map<string, Arr> {
  const stored = readSafetensorsFiles([file], () => (quantization ? { bits: quantization.bits, group_size: quantization.groupSize } : undefined));
  const mlxNames = [...stored.keys()].some((name) => name.includes('.layers.'));
  const out = new Map<string, Arr>();
  for (const [name, tensor] of stored) {
    let arr = materialise(tensor);
    let torchName = name.replace(/^ema_model\./, '');
    if (mlxNames) {
      for (const [mlx, swivid] of MLX_TO_SWIVID) {
        torchName = torchName.replace(mlx, swivid);
      }
      // MLX stores a convolution [out, kernel, in]; PyTorch [out, in, kernel].
      if (/(dwconv|conv1d\.\d+)\.weight$/.test(torchName)) {
        const [o, k, i] = arr.shape;
        const data = new Float64Array(arr.data.length);
        for (let a = 0; a < o; a++) {
          for (let b = 0; b < k; b++) {
            for (let c = 0; c < i; c++) {
              data[(a * i + c) * k + b] = arr.data[(a * k + b) * i + c];
            }
          }
        }
        arr = { shape: [o, i, k], data };
      }
    }
    out.set(torchName, arr);
  }
  return out;
}

class Weights {
  constructor(private readonly map: Map<string, Arr>) {}

  get(name: string): Arr {
    const found = this.map.get(name);
    if (!found) {
      throw new Error(`reference: no tensor ${name}`);
    }
    return found;
  }

  has(name: string): boolean {
    return this.map.has(name);
  }
}

// ---------------------------------------------------------------- primitives

function linear(w: Weights, name: string, x: Float64Array, bias = true): Float64Array {
  const W = w.get(`${name}.weight`);
  const [rows, cols] = W.shape;
  const b = bias ? w.get(`${name}.bias`).data : undefined;
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = b ? b[r] : 0;
    const offset = r * cols;
    for (let c = 0; c < cols; c++) {
      sum += W.data[offset + c] * x[c];
    }
    y[r] = sum;
  }
  return y;
}

const linearSeq = (w: Weights, name: string, xs: Seq, bias = true): Seq => xs.map((x) => linear(w, name, x, bias));

/** PyTorch's Conv1d over a time-major sequence, `same` padding (kernel odd), weight [out, in/groups, kernel]. */
function conv1d(w: Weights, name: string, xs: Seq, groups: number): Seq {
  const W = w.get(`${name}.weight`);
  const b = w.get(`${name}.bias`).data;
  const [outC, perGroup, k] = W.shape;
  const pad = (k - 1) / 2;
  const outPerGroup = outC / groups;
  return xs.map((_, t) => {
    const y = new Float64Array(outC);
    for (let o = 0; o < outC; o++) {
      const g = Math.floor(o / outPerGroup);
      let sum = b[o];
      for (let i = 0; i < perGroup; i++) {
        for (let kk = 0; kk < k; kk++) {
          const at = t - pad + kk;
          if (at >= 0 && at < xs.length) {
            sum += W.data[(o * perGroup + i) * k + kk] * xs[at][g * perGroup + i];
          }
        }
      }
      y[o] = sum;
    }
    return y;
  });
}

function layerNorm(x: Float64Array, eps: number, weight?: Float64Array, bias?: Float64Array): Float64Array {
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
  const inv = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * inv * (weight ? weight[i] : 1) + (bias ? bias[i] : 0));
}

const affineNorm = (w: Weights, name: string, x: Float64Array) => layerNorm(x, EPS, w.get(`${name}.weight`).data, w.get(`${name}.bias`).data);
const silu = (v: number) => v / (1 + Math.exp(-v));
const softplus = (v: number) => (v > 30 ? v : Math.log1p(Math.exp(v)));
const mish = (v: number) => v * Math.tanh(softplus(v));
const geluExact = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);

// ---------------------------------------------------------------- F5's modules

/** ConvNeXt V2 block (F5's text encoder). */
function convNeXtV2(w: Weights, p: string, xs: Seq): Seq {
  const dim = xs[0].length;
  const h = conv1d(w, `${p}.dwconv`, xs, dim).map((x) => linear(w, `${p}.pwconv1`, affineNorm(w, `${p}.norm`, x)).map(geluExact));
  const inner = h[0].length;
  const gx = new Float64Array(inner);
  for (const row of h) {
    row.forEach((v, c) => (gx[c] += v * v));
  }
  const norms = gx.map(Math.sqrt);
  const meanNorm = norms.reduce((a, b) => a + b, 0) / inner;
  const gamma = w.get(`${p}.grn.gamma`).data;
  const beta = w.get(`${p}.grn.beta`).data;
  return h.map((row, t) => {
    const grn = row.map((v, c) => gamma[c] * (v * (norms[c] / (meanNorm + EPS))) + beta[c] + v);
    return add(xs[t], linear(w, `${p}.pwconv2`, grn));
  });
}

/** TextEmbedding: tokens already +1 and padded with 0 to the sequence length; `drop` embeds filler everywhere, masking still by the real text. */
function textEmbedding(w: Weights, tokens: number[], maskPadding: boolean, drop: boolean): Seq {
  const table = w.get('transformer.text_embed.text_embed.weight');
  const width = table.shape[1];
  let xs: Seq = tokens.map((token) => table.data.slice((drop ? 0 : token) * width, ((drop ? 0 : token) + 1) * width));
  let blocks = 0;
  while (w.has(`transformer.text_embed.text_blocks.${blocks}.norm.weight`)) {
    blocks++;
  }
  if (blocks === 0) {
    return xs;
  }
  const half = width / 2;
  xs = xs.map((x, pos) =>
    x.map((v, c) => {
      const freq = 1 / 10000 ** ((2 * (c % half)) / width);
      return v + (c < half ? Math.cos(pos * freq) : Math.sin(pos * freq));
    }),
  );
  const mask = (seq: Seq) => (maskPadding ? seq.map((x, t) => (tokens[t] === 0 ? new Float64Array(width) : x)) : seq);
  xs = mask(xs);
  for (let i = 0; i < blocks; i++) {
    xs = mask(convNeXtV2(w, `transformer.text_embed.text_blocks.${i}`, xs));
  }
  return xs;
}

function convPositions(w: Weights, xs: Seq): Seq {
  const p = 'transformer.input_embed.conv_pos_embed';
  const dim = xs[0].length;
  const groups = dim / w.get(`${p}.conv1d.0.weight`).shape[1];
  const h = conv1d(w, `${p}.conv1d.2`, conv1d(w, `${p}.conv1d.0`, xs, groups).map((x) => x.map(mish)), groups).map((x) => x.map(mish));
  return h.map((x, t) => add(x, xs[t]));
}

/** x-transformers' interleaved rotary embedding with the checkpoint's inv_freq, then softmax attention over every frame. */
function attention(w: Weights, p: string, xs: Seq): Seq {
  const invFreq = w.get('transformer.rotary_embed.inv_freq').data;
  const headDim = 2 * invFreq.length;
  const rotate = (v: Float64Array, pos: number) => {
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length / 2; i++) {
      const angle = pos * invFreq[i];
      const [a, b] = [v[2 * i], v[2 * i + 1]];
      out[2 * i] = a * Math.cos(angle) - b * Math.sin(angle);
      out[2 * i + 1] = b * Math.cos(angle) + a * Math.sin(angle);
    }
    return out;
  };
  const q = linearSeq(w, `${p}.to_q`, xs);
  const k = linearSeq(w, `${p}.to_k`, xs);
  const v = linearSeq(w, `${p}.to_v`, xs);
  const heads = q[0].length / headDim;
  const headOf = (row: Float64Array, h: number) => row.slice(h * headDim, (h + 1) * headDim);
  const out: Seq = xs.map(() => new Float64Array(heads * headDim));
  for (let h = 0; h < heads; h++) {
    const keys = k.map((row, pos) => rotate(headOf(row, h), pos));
    const queries = q.map((row, pos) => rotate(headOf(row, h), pos));
    queries.forEach((query, t) => {
      const scores = keys.map((key) => key.reduce((s, kv, d) => s + kv * query[d], 0) / Math.sqrt(headDim));
      const max = Math.max(...scores);
      const weights = scores.map((s) => Math.exp(s - max));
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((weight, j) => {
        for (let d = 0; d < headDim; d++) {
          out[t][h * headDim + d] += (weight / total) * v[j][h * headDim + d];
        }
      });
    });
  }
  return linearSeq(w, `${p}.to_out.0`, out);
}

const feedForward = (w: Weights, p: string, x: Float64Array) => linear(w, `${p}.ff.2`, linear(w, `${p}.ff.0.0`, x).map(geluTanh));

// ---------------------------------------------------------------- DiT and duration model

function timeEmbedding(w: Weights, t: number): Float64Array {
  const features = w.get('transformer.time_embed.time_mlp.0.weight').shape[1];
  const half = features / 2;
  const step = Math.log(10000) / (half - 1);
  const sinusoid = new Float64Array(features);
  for (let i = 0; i < half; i++) {
    const arg = 1000 * t * Math.exp(-i * step);
    sinusoid[i] = Math.sin(arg);
    sinusoid[half + i] = Math.cos(arg);
  }
  return linear(w, 'transformer.time_embed.time_mlp.2', linear(w, 'transformer.time_embed.time_mlp.0', sinusoid).map(silu));
}

function ditForward(w: Weights, x: Seq, cond: Seq, text: Seq, t: number): Seq {
  const time = timeEmbedding(w, t);
  const dim = time.length;
  const chunk = (v: Float64Array, i: number) => v.slice(i * dim, (i + 1) * dim);
  let h = convPositions(w, x.map((frame, i) => linear(w, 'transformer.input_embed.proj', Float64Array.from([...frame, ...cond[i], ...text[i]]))));
  for (let b = 0; w.has(`transformer.transformer_blocks.${b}.attn_norm.linear.weight`); b++) {
    const p = `transformer.transformer_blocks.${b}`;
    const emb = linear(w, `${p}.attn_norm.linear`, time.map(silu));
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = [0, 1, 2, 3, 4, 5].map((i) => chunk(emb, i));
    const normed = h.map((row) => layerNorm(row, EPS).map((v, c) => v * (1 + scaleMsa[c]) + shiftMsa[c]));
    const attended = attention(w, `${p}.attn`, normed);
    h = h.map((row, t2) => row.map((v, c) => v + gateMsa[c] * attended[t2][c]));
    h = h.map((row) => {
      const ff = feedForward(w, `${p}.ff`, layerNorm(row, EPS).map((v, c) => v * (1 + scaleMlp[c]) + shiftMlp[c]));
      return row.map((v, c) => v + gateMlp[c] * ff[c]);
    });
  }
  const final = linear(w, 'transformer.norm_out.linear', time.map(silu));
  const [scale, shift] = [chunk(final, 0), chunk(final, 1)];
  return h.map((row) => linear(w, 'transformer.proj_out', layerNorm(row, EPS).map((v, c) => v * (1 + scale[c]) + shift[c])));
}

/** f5-tts-mlx's DurationPredictor: seconds of reference and new speech. */
function durationSeconds(w: Weights, mel: Seq, tokens: number[]): number {
  const length = Math.max(mel.length, tokens.length);
  const mels = mel[0].length;
  const padded = Array.from({ length }, (_, t) => mel[t] ?? new Float64Array(mels));
  const ids = Array.from({ length }, (_, t) => tokens[t] ?? 0);
  const text = textEmbedding(w, ids, false, false);
  let h = convPositions(w, padded.map((frame, t) => linear(w, 'transformer.input_embed.proj', Float64Array.from([...frame, ...text[t]]))));
  for (let b = 0; w.has(`transformer.transformer_blocks.${b}.attn.to_q.weight`); b++) {
    const p = `transformer.transformer_blocks.${b}`;
    const attended = attention(w, `${p}.attn`, h.map((row) => layerNorm(row, EPS)));
    h = h.map((row, t) => add(row, attended[t]));
    h = h.map((row) => add(row, feedForward(w, `${p}.ff`, layerNorm(row, EPS))));
  }
  const norm = w.get('transformer.norm_out.weight').data;
  const pooled = new Float64Array(h[0].length);
  for (const row of h) {
    const rms = Math.sqrt(row.reduce((a, v) => a + v * v, 0) / row.length + 1e-5);
    row.forEach((v, c) => (pooled[c] += (v / rms) * norm[c] / h.length));
  }
  return softplus(linear(w, 'to_pred.0', pooled, false)[0]);
}

// ---------------------------------------------------------------- audio

const periodicHann = Float64Array.from({ length: N_FFT }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N_FFT));
const COS = Float64Array.from({ length: N_FFT }, (_, n) => Math.cos((2 * Math.PI * n) / N_FFT));
const SIN = Float64Array.from({ length: N_FFT }, (_, n) => Math.sin((2 * Math.PI * n) / N_FFT));

/** torchaudio's melscale_fbanks (HTK, no norm) [bins][mels]. */
function melFilters(mels: number): Float64Array[] {
  const bins = N_FFT / 2 + 1;
  const toMel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
  const toHz = (mel: number) => 700 * (10 ** (mel / 2595) - 1);
  const maxMel = toMel(SAMPLE_RATE / 2);
  const points = Array.from({ length: mels + 2 }, (_, i) => toHz((maxMel * i) / (mels + 1)));
  return Array.from({ length: bins }, (_, k) => {
    const f = ((SAMPLE_RATE / 2) * k) / (bins - 1);
    return Float64Array.from({ length: mels }, (_, m) => Math.max(0, Math.min((f - points[m]) / (points[m + 1] - points[m]), (points[m + 2] - f) / (points[m + 2] - points[m + 1]))));
  });
}

/** F5's log-mel of a clip: centred reflect-padded STFT magnitudes through the filters, ln(max(·, 1e-5)), ⌊n/hop⌋ frames. */
function referenceMel(samples: Float64Array, mels: number): Seq {
  const n = samples.length;
  const at = (i: number) => samples[i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i];
  const filters = melFilters(mels);
  return Array.from({ length: Math.floor(n / HOP) }, (_, f) => {
    const frame = Float64Array.from({ length: N_FFT }, (_, j) => at(f * HOP + j - N_FFT / 2) * periodicHann[j]);
    const mel = new Float64Array(mels);
    for (let k = 0; k <= N_FFT / 2; k++) {
      let re = 0;
      let im = 0;
      for (let j = 0; j < N_FFT; j++) {
        const idx = (k * j) % N_FFT;
        re += frame[j] * COS[idx];
        im -= frame[j] * SIN[idx];
      }
      const magnitude = Math.sqrt(re * re + im * im);
      filters[k].forEach((weight, m) => (mel[m] += weight * magnitude));
    }
    return mel.map((v) => Math.log(Math.max(v, 1e-5)));
  });
}

/** Vocos: backbone, head, torch.istft(center=True) with the periodic Hann window. */
function vocos(w: Weights, mel: Seq): Float64Array {
  let h = conv1d(w, 'backbone.embed', mel, 1).map((x) => affineNorm(w, 'backbone.norm', x));
  for (let b = 0; w.has(`backbone.convnext.${b}.gamma`); b++) {
    const p = `backbone.convnext.${b}`;
    const gamma = w.get(`${p}.gamma`).data;
    const inner = conv1d(w, `${p}.dwconv`, h, h[0].length).map((x) => linear(w, `${p}.pwconv2`, linear(w, `${p}.pwconv1`, affineNorm(w, `${p}.norm`, x)).map(geluExact)));
    h = h.map((row, t) => row.map((v, c) => v + gamma[c] * inner[t][c]));
  }
  const frames = h.map((x) => linear(w, 'head.out', affineNorm(w, 'backbone.final_layer_norm', x)));
  const bins = N_FFT / 2 + 1;
  const total = N_FFT + HOP * (frames.length - 1);
  const signal = new Float64Array(total);
  const envelope = new Float64Array(total);
  frames.forEach((out, f) => {
    const re = Float64Array.from({ length: bins }, (_, k) => Math.min(Math.exp(out[k]), 100) * Math.cos(out[bins + k]));
    const im = Float64Array.from({ length: bins }, (_, k) => Math.min(Math.exp(out[k]), 100) * Math.sin(out[bins + k]));
    for (let j = 0; j < N_FFT; j++) {
      // irfft: the imaginary parts of DC and Nyquist do not contribute.
      let x = re[0] + re[bins - 1] * (j % 2 === 0 ? 1 : -1);
      for (let k = 1; k < bins - 1; k++) {
        const idx = (k * j) % N_FFT;
        x += 2 * (re[k] * COS[idx] - im[k] * SIN[idx]);
      }
      signal[f * HOP + j] += (x / N_FFT) * periodicHann[j];
      envelope[f * HOP + j] += periodicHann[j] ** 2;
    }
  });
  const start = N_FFT / 2;
  return Float64Array.from({ length: HOP * (frames.length - 1) }, (_, i) => signal[start + i] / envelope[start + i]);
}

// ---------------------------------------------------------------- the pipeline

interface ReferenceRun {
  tokens: number[];
  mel: Seq;
  frames: number;
  velocity: { conditioned: Seq; unconditioned: Seq };
  sampled: Seq;
  speech: Float64Array;
}

function sway(points: number): number[] {
  return Array.from({ length: points }, (_, i) => {
    const t = i / (points - 1);
    return t - (Math.cos((Math.PI / 2) * t) - 1 + t);
  });
}

function runReference(dir: string, vocosDir: string, spec: F5FixtureSpec, samples: Float64Array, transcript: string, text: string, noise: (frames: number) => Seq, speed: number): ReferenceRun {
  const vocabulary = readFileSync(join(dir, 'vocab.txt'), 'utf8').split('\n').slice(0, -1);
  const dit = new Weights(swividWeights(join(dir, f5WeightsFile(spec)), spec.quantization));
  const vocoder = new Weights(swividWeights(join(vocosDir, 'model.safetensors')));
  const mels = dit.get('transformer.proj_out.weight').shape[0];

  const rms = Math.sqrt(samples.reduce((a, v) => a + v * v, 0) / samples.length);
  const gain = rms < 0.1 ? 0.1 / rms : 1;
  const cond = referenceMel(samples.map((v) => Math.fround(v * gain)), mels);
  // SWivid's preprocess_ref_audio_text: the transcript ends in ". " before the new text.
  const prefix = `${transcript}. `;
  const tokens = [...`${prefix}${text}`].map((char) => Math.max(0, vocabulary.indexOf(char)) + 1);
  const referenceFrames = cond.length;
  let generated: number;
  if (existsSync(join(dir, 'duration_v2.safetensors'))) {
    const duration = new Weights(swividWeights(join(dir, 'duration_v2.safetensors')));
    const predicted = durationSeconds(duration, cond, tokens) * (SAMPLE_RATE / HOP);
    generated = Math.floor((predicted - referenceFrames) / speed);
  } else {
    generated = Math.floor(((referenceFrames / Buffer.byteLength(prefix)) * Buffer.byteLength(text)) / speed);
  }
  const frames = Math.min(4096, Math.max(Math.max(tokens.length, referenceFrames) + 1, referenceFrames + generated, referenceFrames + 2));

  const padded = Array.from({ length: frames }, (_, t) => tokens[t] ?? 0);
  const conditionedText = textEmbedding(dit, padded, true, false);
  const droppedText = textEmbedding(dit, padded, true, true);
  const condFrames = Array.from({ length: frames }, (_, t) => (t < referenceFrames ? cond[t] : new Float64Array(mels)));
  const silence = Array.from({ length: frames }, () => new Float64Array(mels));
  const field = (t: number, y: Seq) => {
    const conditioned = ditForward(dit, y, condFrames, conditionedText, t);
    const unconditioned = ditForward(dit, y, silence, droppedText, t);
    return { conditioned, unconditioned, guided: conditioned.map((row, i) => row.map((v, c) => v + 2 * (v - unconditioned[i][c]))) };
  };
  const times = sway(8);
  const y0 = noise(frames);
  const first = field(times[0], y0);
  let y = y0;
  const axpy = (a: Seq, b: Seq, s: number) => a.map((row, i) => row.map((v, c) => v + s * b[i][c]));
  for (let i = 0; i + 1 < times.length; i++) {
    const dt = times[i + 1] - times[i];
    const k1 = i === 0 ? first.guided : field(times[i], y).guided;
    const k2 = field(times[i] + dt / 2, axpy(y, k1, dt / 2)).guided;
    const k3 = field(times[i] + dt / 2, axpy(y, k2, dt / 2)).guided;
    const k4 = field(times[i] + dt, axpy(y, k3, dt)).guided;
    y = y.map((row, f) => row.map((v, c) => v + (dt / 6) * (k1[f][c] + 2 * k2[f][c] + 2 * k3[f][c] + k4[f][c])));
  }
  const sampled = y.map((row, t) => (t < referenceFrames ? cond[t] : row));
  const wave = vocos(vocoder, sampled);
  return {
    tokens: tokens.map((id) => id - 1),
    mel: cond,
    frames,
    velocity: first,
    sampled,
    speech: wave.slice(referenceFrames * HOP).map((v) => v / gain),
  };
}

// ---------------------------------------------------------------- comparisons

function maxAbs(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    max = Math.max(max, Math.abs(values[i]));
  }
  return max;
}

/** Largest difference relative to the reference's largest magnitude. */
function relativeError(engine: ArrayLike<number>, reference: ArrayLike<number>): number {
  expect(engine.length).toBe(reference.length);
  let worst = 0;
  for (let i = 0; i < engine.length; i++) {
    worst = Math.max(worst, Math.abs(engine[i] - reference[i]));
  }
  return worst / maxAbs(reference);
}

const flat = (seq: Seq): Float64Array => Float64Array.from(seq.flatMap((row) => [...row]));
const engineFlat = (array: mx.array): Float64Array => Float64Array.from((array.tolist() as number[][]).flat());

/**
 * A quiet 0.6 s clip of two tones over a little deterministic noise, so that every mel bin has energy as
 * speech does (in the near-silent bins of pure tones, float32 rounding dominates the log). Its RMS is below
 * F5's 0.1 target, so the gain is exercised.
 */
const REFERENCE_SAMPLES = (() => {
  let state = 12345;
  const noise = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
  return Float32Array.from({ length: 14_400 }, (_, i) => 0.03 * Math.sin((2 * Math.PI * 220 * i) / SAMPLE_RATE) + 0.02 * Math.sin((2 * Math.PI * 347 * i) / SAMPLE_RATE + 0.3) + 0.01 * noise());
})();
const TRANSCRIPT = 'Some call me nature';
const TEXT = 'Hi there.';
const SEED = 7;
const SPEED = 1;

/** The synthesizer's first chunk's noise: key(seed) split once, drawn [mels, frames] and transposed. */
function engineNoise(mels: number, frames: number): mx.array {
  const [, chunkKey] = mx.random.split(mx.random.key(SEED), 2);
  return mx.random.normal([mels, frames], mx.float32, 0, 1, chunkKey).T;
}

let dirs: Map<string, string>;

beforeAll(async () => {
  dirs = await ensureF5Fixtures(testHubDir());
});

afterEach(async () => {
  await new Promise(setImmediate);
});

it('names the Vocos repo to pull when the worker found none cached (the model is incomplete, not broken)', async () => {
  const [spec] = F5_FIXTURE_SPECS;
  await expect(loadF5Model(dirs.get(spec.id)!, {})).rejects.toThrow(ModelIncompleteError);
  await expect(loadF5Model(dirs.get(spec.id)!, {})).rejects.toThrow(`takes the Vocos vocoder from ${F5_VOCODER_REPO}`);
});

describe.each(F5_FIXTURE_SPECS.map((spec) => [spec.id, spec] as const))('F5-TTS %s against a float64 reference', (_id, spec) => {
  let reference: ReferenceRun;
  let mels: number;

  beforeAll(() => {
    mels = 100;
    const noise = (frames: number): Seq => {
      const drawn = engineNoise(mels, frames).tolist() as number[][];
      return drawn.map((row) => Float64Array.from(row));
    };
    reference = runReference(dirs.get(spec.id)!, dirs.get(F5_VOCODER_REPO)!, spec, Float64Array.from(REFERENCE_SAMPLES), TRANSCRIPT, TEXT, noise, SPEED);
  });

  it.each<WeightsMode>(spec.quantization ? ['dequantized', 'quantized'] : ['auto'])('matches stage by stage and end to end (weights %s)', async (weights) => {
    const model: F5Model = await loadF5Model(dirs.get(spec.id)!, { weights, companions: { [F5_VOCODER_REPO]: dirs.get(F5_VOCODER_REPO)! } });
    expect(model.duration !== undefined).toBe(spec.duration !== undefined);
    const prompt = { transcript: TRANSCRIPT, text: TEXT, speed: SPEED };
    const tokens = model.vocabulary.encode(model.conditioningText(prompt));
    expect(tokens).toEqual(reference.tokens);

    const rms = Math.sqrt(REFERENCE_SAMPLES.reduce((a, v) => a + v * v, 0) / REFERENCE_SAMPLES.length);
    const referenceMel = model.referenceMel(arrayFromHost(REFERENCE_SAMPLES.map((v) => v * (0.1 / rms))));
    expect(relativeError(engineFlat(referenceMel), flat(reference.mel))).toBeLessThan(1e-4);

    const frames = await model.totalFrames({ ...prompt, referenceMel }, tokens, new PacedWork());
    expect(frames).toBe(reference.frames);

    // One velocity of the DiT at the first time point, conditioned and unconditioned.
    const noise = engineNoise(mels, frames);
    const ids = mx.array([tokens.map((id) => id + 1)], mx.int32);
    const padded = mx.pad(ids, [[0, 0], [0, frames - tokens.length]]);
    const text = model.dit.text.forward(mx.concatenate([padded, mx.zerosLike(padded)], 0), mx.broadcastTo(mx.equal(padded, 0).reshape(1, frames, 1), [2, frames, 1]));
    const cond = mx.pad(referenceMel, [[0, frames - referenceMel.shape[0]], [0, 0]]);
    const velocity = model.dit.forward(mx.broadcastTo(noise, [2, frames, mels]), mx.stack([cond, mx.zerosLike(cond)]), text, 0);
    expect(relativeError(engineFlat(velocity.index(0)), flat(reference.velocity.conditioned))).toBeLessThan(2e-5);
    expect(relativeError(engineFlat(velocity.index(1)), flat(reference.velocity.unconditioned))).toBeLessThan(2e-5);

    const sampled = await model.sample(referenceMel, tokens, noise);
    expect(relativeError(engineFlat(sampled), flat(reference.sampled))).toBeLessThan(1e-4);

    // End to end through the synthesizer: reference cut, gain undone.
    const synthesizer = new F5Synthesizer(model);
    const chunks = [];
    for await (const chunk of synthesizer.synthesize({ input: TEXT, voice: 'nature', speed: SPEED, seed: SEED, reference: { samples: REFERENCE_SAMPLES, transcript: TRANSCRIPT } })) {
      chunks.push(chunk);
    }
    expect(chunks.map((c) => [c.index, c.phonemes, c.frames])).toEqual([[0, TEXT, reference.frames - reference.mel.length]]);
    expect(chunks[0].samples.length).toBe(reference.speech.length);
    expect(relativeError(chunks[0].samples, reference.speech)).toBeLessThan(1e-4);
    expect(maxAbs(chunks[0].samples)).toBeGreaterThan(0);
  });
});
