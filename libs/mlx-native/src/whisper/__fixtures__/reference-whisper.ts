/**
 * An independent float64 Whisper, in plain typed-array loops written from openai/whisper
 * (audio.py, model.py, decoding.py with its ApplyTimestampRules, transcribe.py) and librosa's mel
 * filters: the tests' own safetensors reader (testing/float64-reference.ts), its own DFT,
 * encoder, decoder and decoding rules, and Hugging Face's tokenizer for text. The engine's front
 * end, tokens, text and segment times must agree with it.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { readFlatTensors, type FlatTensor } from '../../testing/float64-reference';

type Tensor = FlatTensor;

// ---------------------------------------------------------------- front end

const SR = 16000;
const N_FFT = 400;
const HOP = 160;
const CHUNK = 480000;
const N_FRAMES = 3000;

/** librosa.filters.mel (Slaney scale and norm), as in its source: ramps between mel-spaced points. */
export function referenceMelFilters(nMels: number): Float64Array[] {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logstep = Math.log(6.4) / 27;
  const hzToMel = (f: number) => (f >= minLogHz ? minLogMel + Math.log(f / minLogHz) / logstep : f / fSp);
  const melToHz = (m: number) => (m >= minLogMel ? minLogHz * Math.exp(logstep * (m - minLogMel)) : fSp * m);
  const bins = 1 + N_FFT / 2;
  const fftfreqs = Array.from({ length: bins }, (_, i) => (i * (SR / 2)) / (bins - 1));
  const low = hzToMel(0);
  const high = hzToMel(SR / 2);
  const melF = Array.from({ length: nMels + 2 }, (_, i) => melToHz(low + ((high - low) * i) / (nMels + 1)));
  const fdiff = melF.slice(1).map((f, i) => f - melF[i]);
  return Array.from({ length: nMels }, (_, i) => {
    const row = new Float64Array(bins);
    for (let k = 0; k < bins; k++) {
      const lower = -(melF[i] - fftfreqs[k]) / fdiff[i];
      const upper = (melF[i + 2] - fftfreqs[k]) / fdiff[i + 1];
      row[k] = Math.max(0, Math.min(lower, upper)) * (2 / (melF[i + 2] - melF[i]));
    }
    return row;
  });
}

/** log-mel [frames][nMels] of the samples plus 30 s of zeros: torch.stft(center=True, reflect) by direct DFT. */
export function referenceLogMel(samples: Float32Array, nMels: number): Float64Array[] {
  const audio = new Float64Array(samples.length + CHUNK);
  audio.set(samples);
  const half = N_FFT / 2;
  const at = (i: number) => (i < 0 ? audio[-i] : i >= audio.length ? audio[2 * (audio.length - 1) - i] : audio[i]);
  const frames = Math.floor(audio.length / HOP);
  const window = Array.from({ length: N_FFT }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N_FFT));
  const bins = N_FFT / 2 + 1;
  const cos = new Float64Array(bins * N_FFT);
  const sin = new Float64Array(bins * N_FFT);
  for (let k = 0; k < bins; k++) {
    for (let n = 0; n < N_FFT; n++) {
      cos[k * N_FFT + n] = Math.cos((2 * Math.PI * k * n) / N_FFT);
      sin[k * N_FFT + n] = Math.sin((2 * Math.PI * k * n) / N_FFT);
    }
  }
  const filters = referenceMelFilters(nMels);
  const out: Float64Array[] = [];
  const frame = new Float64Array(N_FFT);
  const power = new Float64Array(bins);
  let max = -Infinity;
  for (let t = 0; t < frames; t++) {
    let silent = true;
    for (let n = 0; n < N_FFT; n++) {
      frame[n] = at(t * HOP - half + n) * window[n];
      silent &&= frame[n] === 0;
    }
    for (let k = 0; k < bins; k++) {
      if (silent) {
        power[k] = 0;
        continue;
      }
      let re = 0;
      let im = 0;
      for (let n = 0; n < N_FFT; n++) {
        re += frame[n] * cos[k * N_FFT + n];
        im -= frame[n] * sin[k * N_FFT + n];
      }
      power[k] = re * re + im * im;
    }
    const row = new Float64Array(nMels);
    for (let m = 0; m < nMels; m++) {
      let e = 0;
      for (let k = 0; k < bins; k++) {
        e += filters[m][k] * power[k];
      }
      row[m] = Math.log10(Math.max(e, 1e-10));
      max = Math.max(max, row[m]);
    }
    out.push(row);
  }
  for (const row of out) {
    for (let m = 0; m < nMels; m++) {
      row[m] = (Math.max(row[m], max - 8) + 4) / 4;
    }
  }
  return out;
}

// ---------------------------------------------------------------- model

interface Dims {
  n_mels: number;
  n_audio_ctx: number;
  n_audio_state: number;
  n_audio_head: number;
  n_audio_layer: number;
  n_vocab: number;
  n_text_ctx: number;
  n_text_state: number;
  n_text_head: number;
  n_text_layer: number;
}

const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

/**
 * erf from Numerical Recipes' erfcc (Chebyshev fit, fractional error below 1.2e-7): far inside the
 * float32 rounding the engine works with, and cheap enough for a million activations.
 */
function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc : erfc - 1;
}

export class ReferenceWhisper {
  readonly dims: Dims;
  private readonly w: Map<string, Tensor>;

  constructor(dir: string) {
    this.dims = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Dims;
    this.w = readFlatTensors(join(dir, 'model.safetensors'));
  }

  private t(name: string): Float64Array {
    const tensor = this.w.get(name);
    if (!tensor) {
      throw new Error(`missing ${name}`);
    }
    return tensor.data;
  }

  alignmentHeads(): Array<[number, number]> {
    const stored = this.w.get('alignment_heads');
    if (stored) {
      return Array.from({ length: stored.shape[0] }, (_, i) => [stored.data[2 * i], stored.data[2 * i + 1]]);
    }
    const heads: Array<[number, number]> = [];
    for (let l = Math.floor(this.dims.n_text_layer / 2); l < this.dims.n_text_layer; l++) {
      for (let h = 0; h < this.dims.n_text_head; h++) {
        heads.push([l, h]);
      }
    }
    return heads;
  }

  /** x W^T + b for rows of x. */
  private linear(x: Float64Array[], name: string, bias: boolean): Float64Array[] {
    const w = this.w.get(`${name}.weight`)!;
    const [outF, inF] = w.shape;
    const b = bias ? this.t(`${name}.bias`) : undefined;
    return x.map((row) => {
      const y = new Float64Array(outF);
      for (let o = 0; o < outF; o++) {
        let s = b ? b[o] : 0;
        const off = o * inF;
        for (let i = 0; i < inF; i++) {
          s += w.data[off + i] * row[i];
        }
        y[o] = s;
      }
      return y;
    });
  }

  private layerNorm(x: Float64Array[], name: string): Float64Array[] {
    const g = this.t(`${name}.weight`);
    const b = this.t(`${name}.bias`);
    return x.map((row) => {
      const mean = row.reduce((s, v) => s + v, 0) / row.length;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
      const inv = 1 / Math.sqrt(variance + 1e-5);
      return row.map((v, i) => (v - mean) * inv * g[i] + b[i]);
    });
  }

  private conv(x: Float64Array[], name: string, stride: number): Float64Array[] {
    const w = this.w.get(`${name}.weight`)!;
    const [outC, kernel, inC] = w.shape;
    const b = this.t(`${name}.bias`);
    const outLen = Math.floor((x.length + 2 - kernel) / stride) + 1;
    return Array.from({ length: outLen }, (_, t) => {
      const y = new Float64Array(outC);
      for (let o = 0; o < outC; o++) {
        let s = b[o];
        for (let k = 0; k < kernel; k++) {
          const src = t * stride + k - 1;
          if (src < 0 || src >= x.length) {
            continue;
          }
          const row = x[src];
          const off = (o * kernel + k) * inC;
          for (let i = 0; i < inC; i++) {
            s += w.data[off + i] * row[i];
          }
        }
        y[o] = s;
      }
      return y;
    });
  }

  /** softmax(q k^T / sqrt(d)) v per head; `causalFrom`: query i sees keys ≤ causalFrom + i. Returns output and the scores. */
  private attention(q: Float64Array[], k: Float64Array[], v: Float64Array[], heads: number, causalFrom?: number, keepScores = false): { out: Float64Array[]; scores: Float64Array[][] } {
    const state = q[0].length;
    const d = state / heads;
    const scale = 1 / Math.sqrt(d);
    const out = q.map(() => new Float64Array(state));
    const scores: Float64Array[][] = [];
    const s = new Float64Array(k.length);
    const acc = new Float64Array(d);
    for (let h = 0; h < heads; h++) {
      // This head's keys and values, contiguous: the loops below stay on flat typed arrays.
      const kh = new Float64Array(k.length * d);
      const vh = new Float64Array(k.length * d);
      for (let j = 0; j < k.length; j++) {
        for (let c = 0; c < d; c++) {
          kh[j * d + c] = k[j][h * d + c];
          vh[j * d + c] = v[j][h * d + c];
        }
      }
      const headScores: Float64Array[] = [];
      for (let i = 0; i < q.length; i++) {
        const qi = q[i];
        const visible = causalFrom === undefined ? k.length : Math.min(k.length, causalFrom + i + 1);
        let max = -Infinity;
        for (let j = 0; j < visible; j++) {
          let dot = 0;
          const base = j * d;
          for (let c = 0; c < d; c++) {
            dot += qi[h * d + c] * kh[base + c];
          }
          s[j] = dot * scale;
          if (s[j] > max) {
            max = s[j];
          }
        }
        if (keepScores) {
          headScores.push(s.slice(0, visible));
        }
        let total = 0;
        acc.fill(0);
        for (let j = 0; j < visible; j++) {
          const p = Math.exp(s[j] - max);
          total += p;
          const base = j * d;
          for (let c = 0; c < d; c++) {
            acc[c] += p * vh[base + c];
          }
        }
        for (let c = 0; c < d; c++) {
          out[i][h * d + c] = acc[c] / total;
        }
      }
      scores.push(headScores);
    }
    return { out, scores };
  }

  private mlp(x: Float64Array[], path: string): Float64Array[] {
    const hidden = this.linear(this.layerNorm(x, `${path}.mlp_ln`), `${path}.mlp1`, true).map((row) => row.map(gelu));
    return this.linear(hidden, `${path}.mlp2`, true);
  }

  private add(x: Float64Array[], y: Float64Array[]): Float64Array[] {
    return x.map((row, i) => row.map((v, c) => v + y[i][c]));
  }

  /** One window of log-mel frames [3000][nMels] → audio features [1500][state]. */
  encode(mel: Float64Array[]): Float64Array[] {
    const { n_audio_state: state, n_audio_head: heads, n_audio_layer: layers } = this.dims;
    let x: Float64Array[] = this.conv(mel, 'encoder.conv1', 1).map((row) => row.map(gelu));
    x = this.conv(x, 'encoder.conv2', 2).map((row) => row.map(gelu));
    const half = state / 2;
    const increment = Math.log(10000) / (half - 1);
    x = x.map((row, t) => row.map((v, c) => v + (c < half ? Math.sin(t * Math.exp(-increment * c)) : Math.cos(t * Math.exp(-increment * (c - half))))));
    for (let l = 0; l < layers; l++) {
      const p = `encoder.blocks.${l}`;
      const n = this.layerNorm(x, `${p}.attn_ln`);
      const q = this.linear(n, `${p}.attn.query`, true);
      const k = this.linear(n, `${p}.attn.key`, false);
      const v = this.linear(n, `${p}.attn.value`, true);
      x = this.add(x, this.linear(this.attention(q, k, v, heads).out, `${p}.attn.out`, true));
      x = this.add(x, this.mlp(x, p));
    }
    return this.layerNorm(x, 'encoder.ln_post');
  }

  /** A decoding session over one window's audio: feeds tokens, keeps the self-attention keys and values. */
  session(audio: Float64Array[]): ReferenceDecoderSession {
    return new ReferenceDecoderSession(this, audio);
  }

  /** Internal pieces the session uses. */
  parts() {
    return {
      linear: this.linear.bind(this),
      layerNorm: this.layerNorm.bind(this),
      attention: this.attention.bind(this),
      mlp: this.mlp.bind(this),
      add: this.add.bind(this),
      tensor: this.t.bind(this),
    };
  }
}

export class ReferenceDecoderSession {
  private readonly keys: Float64Array[][];
  private readonly values: Float64Array[][];
  private readonly crossKeys: Float64Array[][];
  private readonly crossValues: Float64Array[][];
  /** Cross-attention scores of the last feed, per layer and head: [layer][head][query][frame]. */
  lastCrossScores: Float64Array[][][] = [];

  constructor(
    private readonly model: ReferenceWhisper,
    audio: Float64Array[],
  ) {
    const { linear } = model.parts();
    const layers = model.dims.n_text_layer;
    this.keys = Array.from({ length: layers }, () => []);
    this.values = Array.from({ length: layers }, () => []);
    this.crossKeys = Array.from({ length: layers }, (_, l) => linear(audio, `decoder.blocks.${l}.cross_attn.key`, false));
    this.crossValues = Array.from({ length: layers }, (_, l) => linear(audio, `decoder.blocks.${l}.cross_attn.value`, true));
  }

  /** Feeds tokens after those already fed; returns the logits of every fed position. */
  feed(tokens: number[], keepCrossScores = false): Float64Array[] {
    const { linear, layerNorm, attention, mlp, add, tensor } = this.model.parts();
    const { n_text_state: state, n_text_head: heads, n_text_layer: layers, n_vocab: vocab } = this.model.dims;
    const embedding = tensor('decoder.token_embedding.weight');
    const positional = tensor('decoder.positional_embedding');
    const offset = this.keys[0].length;
    let x: Float64Array[] = tokens.map((token, i) => Float64Array.from({ length: state }, (_, c) => embedding[token * state + c] + positional[(offset + i) * state + c]));
    this.lastCrossScores = [];
    for (let l = 0; l < layers; l++) {
      const p = `decoder.blocks.${l}`;
      const n = layerNorm(x, `${p}.attn_ln`);
      const q = linear(n, `${p}.attn.query`, true);
      this.keys[l].push(...linear(n, `${p}.attn.key`, false));
      this.values[l].push(...linear(n, `${p}.attn.value`, true));
      x = add(x, linear(attention(q, this.keys[l], this.values[l], heads, offset).out, `${p}.attn.out`, true));
      const cq = linear(layerNorm(x, `${p}.cross_attn_ln`), `${p}.cross_attn.query`, true);
      const cross = attention(cq, this.crossKeys[l], this.crossValues[l], heads, undefined, keepCrossScores);
      this.lastCrossScores.push(cross.scores);
      x = add(x, linear(cross.out, `${p}.cross_attn.out`, true));
      x = add(x, mlp(x, p));
    }
    return layerNorm(x, 'decoder.ln').map((row) => {
      const logits = new Float64Array(vocab);
      for (let v = 0; v < vocab; v++) {
        let s = 0;
        for (let c = 0; c < state; c++) {
          s += embedding[v * state + c] * row[c];
        }
        logits[v] = s;
      }
      return logits;
    });
  }
}

// ---------------------------------------------------------------- decoding

export interface ReferenceSpecials {
  eot: number;
  sot: number;
  translate: number;
  transcribe: number;
  sotLm: number;
  sotPrev: number;
  noSpeech: number;
  noTimestamps: number;
  timestampBegin: number;
  languages: string[];
}

/** The specials as openai/whisper's get_encoding appends them after the text ranks (tokenizer.py). */
export function referenceSpecials(nVocab: number, languageCodes: readonly string[]): ReferenceSpecials {
  const multilingual = nVocab >= 51865;
  const numLanguages = nVocab - 51765 - (multilingual ? 1 : 0);
  const textRanks = nVocab - (2 + numLanguages + 6 + 1501);
  const names = ['<|endoftext|>', '<|startoftranscript|>', ...languageCodes.slice(0, numLanguages), 'translate', 'transcribe', 'startoflm', 'startofprev', 'nospeech', 'notimestamps'];
  const id = (i: number) => textRanks + i;
  return {
    eot: id(0),
    sot: id(1),
    translate: id(names.indexOf('translate')),
    transcribe: id(names.indexOf('transcribe')),
    sotLm: id(names.indexOf('startoflm')),
    sotPrev: id(names.indexOf('startofprev')),
    noSpeech: id(names.indexOf('nospeech')),
    noTimestamps: id(names.indexOf('notimestamps')),
    timestampBegin: id(names.length),
    languages: languageCodes.slice(0, numLanguages),
  };
}

export interface ReferenceSegment {
  seek: number;
  start: number;
  end: number;
  text: string;
  tokens: number[];
}

export interface ReferenceTranscript {
  language: string;
  segments: ReferenceSegment[];
  text: string;
}

/** Greedy (temperature 0) transcription, openai/whisper's transcribe() with condition_on_previous_text and its no-speech skip. */
export function referenceTranscribe(
  model: ReferenceWhisper,
  tokenizerDir: string,
  samples: Float32Array,
  options: { language?: string; task: 'transcribe' | 'translate'; prompt?: string },
): ReferenceTranscript {
  const tokenizerJson = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer.json'), 'utf8')) as { added_tokens: Array<{ id: number; content: string }> };
  const tokenizer = new Tokenizer(tokenizerJson, JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer_config.json'), 'utf8')));
  // The language tokens are the added tokens after <|startoftranscript|>, in id order, up to <|translate|>.
  const added = [...tokenizerJson.added_tokens].sort((a, b) => a.id - b.id);
  const sotAt = added.findIndex((token) => token.content === '<|startoftranscript|>');
  const translateAt = added.findIndex((token) => token.content === '<|translate|>');
  const languageCodes = added.slice(sotAt + 1, translateAt).map((token) => token.content.slice(2, -2));
  const sp = referenceSpecials(model.dims.n_vocab, languageCodes);
  const encode = (text: string) => tokenizer.encode(text, { add_special_tokens: false }).ids;
  const decodeText = (ids: number[]) => tokenizer.decode(ids.filter((t) => t < sp.timestampBegin), { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  const mel = referenceLogMel(samples, model.dims.n_mels);
  const contentFrames = mel.length - N_FRAMES;
  const windowAt = (seek: number, size: number) => Array.from({ length: N_FRAMES }, (_, i) => (i < size ? mel[seek + i] : new Float64Array(model.dims.n_mels)));

  const multilingual = model.dims.n_vocab >= 51865;
  let language = options.language ?? 'en';
  if (options.language === undefined && multilingual) {
    const logits = model.session(model.encode(windowAt(0, N_FRAMES))).feed([sp.sot])[0];
    let best = 0;
    for (let i = 1; i < sp.languages.length; i++) {
      if (logits[sp.sot + 1 + i] > logits[sp.sot + 1 + best]) {
        best = i;
      }
    }
    language = sp.languages[best];
  }
  const sotSequence = multilingual ? [sp.sot, sp.sot + 1 + sp.languages.indexOf(language), options.task === 'transcribe' ? sp.transcribe : sp.translate] : [sp.sot];

  // suppress_tokens "-1": the non-speech symbols (tokenizer.py), plus the control tokens.
  const symbols = [...'"#()*+/:;<=>@[\\]^_`{|}~「」『』', ...'<< >> <<< >>> -- --- -( -[ (\' (" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪'.split(' ')];
  const misc = [...'♩♪♫♬♭♮♯'];
  const suppress = new Set([encode(' -')[0], encode(" '")[0]]);
  for (const symbol of [...symbols, ...misc]) {
    for (const ids of [encode(symbol), encode(' ' + symbol)]) {
      if (ids.length === 1 || misc.includes(symbol)) {
        suppress.add(ids[0]);
      }
    }
  }
  for (const t of [sp.transcribe, sp.translate, sp.sot, sp.sotPrev, sp.sotLm, sp.noSpeech]) {
    suppress.add(t);
  }
  const blank = new Set([...encode(' '), sp.eot]);
  const nCtx = model.dims.n_text_ctx;
  const vocab = model.dims.n_vocab;
  const tb = sp.timestampBegin;

  const decodeWindow = (audio: Float64Array[], prompt: number[]) => {
    const initial = [...(prompt.length > 0 ? [sp.sotPrev, ...prompt.slice(-(Math.floor(nCtx / 2) - 1))] : []), ...sotSequence];
    const session = model.session(audio);
    const sampled: number[] = [];
    let sum = 0;
    let noSpeechProb = NaN;
    let input = initial;
    for (let step = 0; step < Math.floor(nCtx / 2) && initial.length + sampled.length <= nCtx; step++) {
      const all = session.feed(input);
      if (step === 0) {
        const atSot = all[initial.indexOf(sp.sot)];
        const max = Math.max(...atSot);
        const total = atSot.reduce((s, v) => s + Math.exp(v - max), 0);
        noSpeechProb = Math.exp(atSot[sp.noSpeech] - max) / total;
      }
      const logits = Float64Array.from(all[all.length - 1]);
      // SuppressBlank, SuppressTokens, then ApplyTimestampRules in openai/whisper's order.
      if (sampled.length === 0) {
        blank.forEach((t) => (logits[t] = -Infinity));
      }
      suppress.forEach((t) => (logits[t] = -Infinity));
      logits[sp.noTimestamps] = -Infinity;
      const lastTs = sampled.length >= 1 && sampled[sampled.length - 1] >= tb;
      const penultTs = sampled.length < 2 || sampled[sampled.length - 2] >= tb;
      if (lastTs) {
        if (penultTs) {
          logits.fill(-Infinity, tb);
        } else {
          logits.fill(-Infinity, 0, sp.eot);
        }
      }
      const stamps = sampled.filter((t) => t >= tb);
      if (stamps.length > 0) {
        const last = lastTs && !penultTs ? stamps[stamps.length - 1] : stamps[stamps.length - 1] + 1;
        logits.fill(-Infinity, tb, last);
      }
      if (sampled.length === 0) {
        logits.fill(-Infinity, 0, tb);
        logits.fill(-Infinity, tb + Math.round(1.0 / (30 / model.dims.n_audio_ctx)) + 1);
      }
      const logSoftmax = (x: Float64Array) => {
        const max = Math.max(...x);
        const lse = max + Math.log(x.reduce((s, v) => s + Math.exp(v - max), 0));
        return x.map((v) => v - lse);
      };
      const lp = logSoftmax(logits);
      let tsMax = -Infinity;
      for (let v = tb; v < vocab; v++) {
        tsMax = Math.max(tsMax, lp[v]);
      }
      let tsSum = 0;
      for (let v = tb; v < vocab; v++) {
        tsSum += Math.exp(lp[v] - tsMax);
      }
      const tsLogprob = tsMax + Math.log(tsSum);
      let textMax = -Infinity;
      for (let v = 0; v < tb; v++) {
        textMax = Math.max(textMax, lp[v]);
      }
      if (tsLogprob > textMax) {
        logits.fill(-Infinity, 0, tb);
      }
      let token = 0;
      for (let v = 1; v < vocab; v++) {
        if (logits[v] > logits[token]) {
          token = v;
        }
      }
      sum += logSoftmax(logits)[token];
      if (token === sp.eot) {
        break;
      }
      sampled.push(token);
      input = [token];
    }
    const text = decodeText(sampled).trim();
    const bytes = Buffer.from(text, 'utf8');
    return { tokens: sampled, avgLogprob: sum / (sampled.length + 1), noSpeechProb, compressionRatio: bytes.length / deflateSync(bytes).length };
  };

  const allTokens: number[] = options.prompt === undefined ? [] : encode(' ' + options.prompt.trim());
  const segments: ReferenceSegment[] = [];
  let seek = 0;
  while (seek < contentFrames) {
    const timeOffset = (seek * HOP) / SR;
    const size = Math.min(N_FRAMES, contentFrames - seek);
    const result = decodeWindow(model.encode(windowAt(seek, size)), allTokens);
    if (result.noSpeechProb > 0.6 && result.avgLogprob <= -1) {
      seek += size;
      continue;
    }
    const tokens = result.tokens;
    const isTs = tokens.map((t) => t >= tb);
    const single = tokens.length >= 2 && !isTs[tokens.length - 2] && isTs[tokens.length - 1];
    const cuts: number[] = [];
    for (let i = 1; i < tokens.length; i++) {
      if (isTs[i] && isTs[i - 1]) {
        cuts.push(i);
      }
    }
    const current: ReferenceSegment[] = [];
    const make = (start: number, end: number, ids: number[]) => ({ seek, start, end, text: decodeText(ids.filter((t) => t < sp.eot)), tokens: ids });
    if (cuts.length > 0) {
      if (single) {
        cuts.push(tokens.length);
      }
      let last = 0;
      for (const cut of cuts) {
        const piece = tokens.slice(last, cut);
        current.push(make(timeOffset + (piece[0] - tb) * 0.02, timeOffset + (piece[piece.length - 1] - tb) * 0.02, piece));
        last = cut;
      }
      seek += single ? size : (tokens[last - 1] - tb) * 2;
    } else {
      const stamps = tokens.filter((t) => t >= tb);
      const duration = stamps.length > 0 && stamps[stamps.length - 1] !== tb ? (stamps[stamps.length - 1] - tb) * 0.02 : (size * HOP) / SR;
      current.push(make(timeOffset, timeOffset + duration, tokens));
      seek += size;
    }
    for (const segment of current) {
      if (segment.start === segment.end || segment.text.trim() === '') {
        segment.text = '';
        segment.tokens = [];
      }
      allTokens.push(...segment.tokens);
      segments.push(segment);
    }
  }
  return { language, segments, text: segments.map((s) => s.text).join('') };
}
