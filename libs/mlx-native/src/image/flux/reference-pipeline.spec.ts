import { ensureFluxFixtures, FIXTURE_ORG, testHubDir } from '@mlx-omni/model-fixtures';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFlatTensors, type FlatTensor } from '../../testing/float64-reference';
import { PromptTokenizer } from '../../text/prompt-tokenizer';
import { loadFluxPipeline } from './load';

/**
 * FLUX.1 text-to-image written again, independently of the engine, in float64 with plain loops, from
 * diffusers (pipeline_flux.py, transformer_flux.py, autoencoder_kl.py, the flow-match Euler scheduler)
 * and transformers (CLIPTextModel, T5EncoderModel). It reads the diffusers-layout fixture through the
 * tests' own safetensors reader (testing/float64-reference.ts), not the engine's. Shared with the
 * engine: the token ids and the initial noise (MLX's generator, which the engine must reproduce bit
 * for bit to match mflux, checked in flux.spec.ts).
 */

jest.setTimeout(600_000);

type Tensor = FlatTensor;

function readFolder(dir: string, files: string[]): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const file of files) {
    readFlatTensors(join(dir, file), tensors);
  }
  return tensors;
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/** y[n, out] = x[n, in] · Wᵀ + b. */
function linear(x: Float64Array, n: number, w: Tensor, b?: Tensor): Float64Array {
  const [out, inF] = w.shape;
  const y = new Float64Array(n * out);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b.data[o] : 0;
      const xr = r * inF;
      const wr = o * inF;
      for (let i = 0; i < inF; i++) {
        s += x[xr + i] * w.data[wr + i];
      }
      y[r * out + o] = s;
    }
  }
  return y;
}

function rowNorm(x: Float64Array, n: number, d: number, eps: number, center: boolean, w?: Tensor, b?: Tensor): Float64Array {
  const y = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    let mean = 0;
    if (center) {
      for (let i = 0; i < d; i++) {
        mean += x[r * d + i];
      }
      mean /= d;
    }
    let v = 0;
    for (let i = 0; i < d; i++) {
      v += (x[r * d + i] - mean) ** 2;
    }
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) {
      y[r * d + i] = (x[r * d + i] - mean) * inv * (w ? w.data[i] : 1) + (b ? b.data[i] : 0);
    }
  }
  return y;
}

const map = (x: Float64Array, f: (v: number) => number) => x.map(f);
const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);
const silu = (v: number) => v / (1 + Math.exp(-v));
const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

/** Multi-head attention on [n, heads·d] rows with an optional additive bias(h, i, j). */
function attention(q: Float64Array, k: Float64Array, v: Float64Array, n: number, heads: number, d: number, scale: number, bias?: (h: number, i: number, j: number) => number): Float64Array {
  const out = new Float64Array(n * heads * d);
  const width = heads * d;
  const scores = new Float64Array(n);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) {
          s += q[i * width + h * d + c] * k[j * width + h * d + c];
        }
        s = s * scale + (bias ? bias(h, i, j) : 0);
        scores[j] = s;
        max = Math.max(max, s);
      }
      let total = 0;
      for (let j = 0; j < n; j++) {
        scores[j] = scores[j] === -Infinity ? 0 : Math.exp(scores[j] - max);
        total += scores[j];
      }
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let j = 0; j < n; j++) {
          s += scores[j] * v[j * width + h * d + c];
        }
        out[i * width + h * d + c] = s / total;
      }
    }
  }
  return out;
}

/** CLIPTextModel's pooled output: final-layer-normed state at argmax(ids) (the legacy eos_token_id == 2 path). */
function clipPooled(t: Map<string, Tensor>, config: Record<string, unknown>, ids: number[]): Float64Array {
  const d = config['hidden_size'] as number;
  const heads = config['num_attention_heads'] as number;
  const n = ids.length;
  const g = (name: string) => t.get(`text_model.${name}`)!;
  let x = new Float64Array(n * d);
  ids.forEach((id, p) => {
    for (let i = 0; i < d; i++) {
      x[p * d + i] = g('embeddings.token_embedding.weight').data[id * d + i] + g('embeddings.position_embedding.weight').data[p * d + i];
    }
  });
  for (let l = 0; l < (config['num_hidden_layers'] as number); l++) {
    const p = (name: string) => g(`encoder.layers.${l}.${name}`);
    const h = rowNorm(x, n, d, 1e-5, true, p('layer_norm1.weight'), p('layer_norm1.bias'));
    const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((m) => linear(h, n, p(`self_attn.${m}.weight`), p(`self_attn.${m}.bias`)));
    const a = attention(q, k, v, n, heads, d / heads, 1 / Math.sqrt(d / heads), (_h, i, j) => (j > i ? -Infinity : 0));
    x = add(x, linear(a, n, p('self_attn.out_proj.weight'), p('self_attn.out_proj.bias')));
    const h2 = rowNorm(x, n, d, 1e-5, true, p('layer_norm2.weight'), p('layer_norm2.bias'));
    const f = map(linear(h2, n, p('mlp.fc1.weight'), p('mlp.fc1.bias')), (u) => u / (1 + Math.exp(-1.702 * u)));
    x = add(x, linear(f, n, p('mlp.fc2.weight'), p('mlp.fc2.bias')));
  }
  const final = rowNorm(x, n, d, 1e-5, true, g('final_layer_norm.weight'), g('final_layer_norm.bias'));
  const at = ids.indexOf(Math.max(...ids));
  return final.slice(at * d, (at + 1) * d);
}

/** T5's bidirectional relative-position bucket (Raffel et al.), straight from the formula. */
function t5Bucket(relative: number, buckets: number, maxDistance: number): number {
  const half = buckets / 2;
  let bucket = relative > 0 ? half : 0;
  const n = Math.abs(relative);
  const maxExact = half / 2;
  if (n < maxExact) {
    return bucket + n;
  }
  bucket += Math.min(half - 1, maxExact + Math.floor((Math.log(n / maxExact) / Math.log(maxDistance / maxExact)) * (half - maxExact)));
  return bucket;
}

function t5Encode(t: Map<string, Tensor>, config: Record<string, unknown>, ids: number[]): Float64Array {
  const d = config['d_model'] as number;
  const heads = config['num_heads'] as number;
  const dKv = config['d_kv'] as number;
  const eps = config['layer_norm_epsilon'] as number;
  const n = ids.length;
  const g = (name: string) => t.get(name)!;
  let x = new Float64Array(n * d);
  ids.forEach((id, p) => x.set(g('shared.weight').data.subarray(id * d, (id + 1) * d), p * d));
  const table = g('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
  const bias = (h: number, i: number, j: number) => table.data[t5Bucket(j - i, 32, 128) * heads + h];
  for (let l = 0; l < (config['num_layers'] as number); l++) {
    const a = `encoder.block.${l}.layer.0`;
    const f = `encoder.block.${l}.layer.1`;
    const h = rowNorm(x, n, d, eps, false, g(`${a}.layer_norm.weight`));
    const [q, k, v] = ['q', 'k', 'v'].map((m) => linear(h, n, g(`${a}.SelfAttention.${m}.weight`)));
    x = add(x, linear(attention(q, k, v, n, heads, dKv, 1, bias), n, g(`${a}.SelfAttention.o.weight`)));
    const h2 = rowNorm(x, n, d, eps, false, g(`${f}.layer_norm.weight`));
    const gate = map(linear(h2, n, g(`${f}.DenseReluDense.wi_0.weight`)), geluTanh);
    const up = linear(h2, n, g(`${f}.DenseReluDense.wi_1.weight`));
    x = add(x, linear(gate.map((v2, i) => v2 * up[i]), n, g(`${f}.DenseReluDense.wo.weight`)));
  }
  return rowNorm(x, n, d, eps, false, g('encoder.final_layer_norm.weight'));
}

/** diffusers' get_1d_rotary_pos_embed(repeat_interleave_real=True) per axis, concatenated: cos/sin per token and channel. */
function ropeTables(ids: number[][], axes: number[], theta: number): { cos: Float64Array; sin: Float64Array; width: number } {
  const width = axes.reduce((a, b) => a + b, 0);
  const cos = new Float64Array(ids.length * width);
  const sin = new Float64Array(ids.length * width);
  ids.forEach((pos, token) => {
    let offset = 0;
    axes.forEach((dim, axis) => {
      for (let j = 0; j < dim / 2; j++) {
        const freq = 1 / theta ** ((2 * j) / dim);
        for (const r of [0, 1]) {
          cos[token * width + offset + 2 * j + r] = Math.cos(pos[axis] * freq);
          sin[token * width + offset + 2 * j + r] = Math.sin(pos[axis] * freq);
        }
      }
      offset += dim;
    });
  });
  return { cos, sin, width };
}

/** apply_rotary_emb(use_real_unbind_dim=−1): x·cos + rotate(x)·sin with rotate(a, b) = (−b, a) per pair, on [n, heads·d]. */
function rotary(x: Float64Array, n: number, heads: number, d: number, rope: { cos: Float64Array; sin: Float64Array }): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < heads; h++) {
      for (let c = 0; c < d; c += 2) {
        const base = i * heads * d + h * d + c;
        const [a, b] = [x[base], x[base + 1]];
        out[base] = a * rope.cos[i * d + c] - b * rope.sin[i * d + c];
        out[base + 1] = b * rope.cos[i * d + c + 1] + a * rope.sin[i * d + c + 1];
      }
    }
  }
  return out;
}

function transformerVelocity(t: Map<string, Tensor>, c: Record<string, unknown>, latents: Float64Array, patches: number, text: Float64Array, textLength: number, pooled: Float64Array, sigma: number, guidance: number, rope: { cos: Float64Array; sin: Float64Array }): Float64Array {
  const heads = c['num_attention_heads'] as number;
  const hd = c['attention_head_dim'] as number;
  const H = heads * hd;
  const g = (name: string) => t.get(name)!;
  const lin = (x: Float64Array, n: number, name: string) => linear(x, n, g(`${name}.weight`), t.get(`${name}.bias`));
  const timeProj = (value: number) => {
    const half = 128;
    const emb = new Float64Array(256);
    for (let j = 0; j < half; j++) {
      const arg = value * Math.exp((-Math.log(10000) * j) / half);
      emb[j] = Math.cos(arg);
      emb[half + j] = Math.sin(arg);
    }
    return emb;
  };
  const mlp2 = (x: Float64Array, name: string) => lin(map(lin(x, 1, `${name}.linear_1`), silu), 1, `${name}.linear_2`);
  let temb = mlp2(timeProj(sigma * 1000), 'time_text_embed.timestep_embedder');
  if (c['guidance_embeds']) {
    temb = add(temb, mlp2(timeProj(guidance * 1000), 'time_text_embed.guidance_embedder'));
  }
  temb = add(temb, mlp2(pooled, 'time_text_embed.text_embedder'));
  const sTemb = map(temb, silu);
  const chunks = (name: string, count: number) => {
    const all = lin(sTemb, 1, name);
    return Array.from({ length: count }, (_, i) => all.slice(i * H, (i + 1) * H));
  };
  const modulate = (x: Float64Array, n: number, shift: Float64Array, scale: Float64Array) =>
    rowNorm(x, n, H, 1e-6, true).map((v, i) => v * (1 + scale[i % H]) + shift[i % H]);
  const gated = (x: Float64Array, gate: Float64Array, y: Float64Array) => x.map((v, i) => v + gate[i % H] * y[i]);
  const qk = (x: Float64Array, n: number, name: string) => {
    const w = g(name);
    const out = new Float64Array(x.length);
    for (let r = 0; r < n * heads; r++) {
      out.set(rowNorm(x.subarray(r * hd, (r + 1) * hd), 1, hd, 1e-6, false, w), r * hd);
    }
    return out;
  };
  let img = lin(latents, patches, 'x_embedder');
  let txt = lin(text, textLength, 'context_embedder');
  const total = textLength + patches;
  const cat = (a: Float64Array, b: Float64Array) => {
    const out = new Float64Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  for (let i = 0; i < (c['num_layers'] as number); i++) {
    const b = `transformer_blocks.${i}`;
    const [shMsa, scMsa, gMsa, shMlp, scMlp, gMlp] = chunks(`${b}.norm1.linear`, 6);
    const [cShMsa, cScMsa, cGMsa, cShMlp, cScMlp, cGMlp] = chunks(`${b}.norm1_context.linear`, 6);
    const nImg = modulate(img, patches, shMsa, scMsa);
    const nTxt = modulate(txt, textLength, cShMsa, cScMsa);
    const q = cat(qk(lin(nTxt, textLength, `${b}.attn.add_q_proj`), textLength, `${b}.attn.norm_added_q.weight`), qk(lin(nImg, patches, `${b}.attn.to_q`), patches, `${b}.attn.norm_q.weight`));
    const k = cat(qk(lin(nTxt, textLength, `${b}.attn.add_k_proj`), textLength, `${b}.attn.norm_added_k.weight`), qk(lin(nImg, patches, `${b}.attn.to_k`), patches, `${b}.attn.norm_k.weight`));
    const v = cat(lin(nTxt, textLength, `${b}.attn.add_v_proj`), lin(nImg, patches, `${b}.attn.to_v`));
    const a = attention(rotary(q, total, heads, hd, rope), rotary(k, total, heads, hd, rope), v, total, heads, hd, 1 / Math.sqrt(hd));
    const txtA = a.slice(0, textLength * H);
    const imgA = a.slice(textLength * H);
    img = gated(img, gMsa, lin(imgA, patches, `${b}.attn.to_out.0`));
    img = gated(img, gMlp, lin(map(lin(modulate(img, patches, shMlp, scMlp), patches, `${b}.ff.net.0.proj`), geluTanh), patches, `${b}.ff.net.2`));
    txt = gated(txt, cGMsa, lin(txtA, textLength, `${b}.attn.to_add_out`));
    txt = gated(txt, cGMlp, lin(map(lin(modulate(txt, textLength, cShMlp, cScMlp), textLength, `${b}.ff_context.net.0.proj`), geluTanh), textLength, `${b}.ff_context.net.2`));
  }
  let x = cat(txt, img);
  for (let i = 0; i < (c['num_single_layers'] as number); i++) {
    const b = `single_transformer_blocks.${i}`;
    const [shift, scale, gate] = chunks(`${b}.norm.linear`, 3);
    const n = modulate(x, total, shift, scale);
    const q = rotary(qk(lin(n, total, `${b}.attn.to_q`), total, `${b}.attn.norm_q.weight`), total, heads, hd, rope);
    const k = rotary(qk(lin(n, total, `${b}.attn.to_k`), total, `${b}.attn.norm_k.weight`), total, heads, hd, rope);
    const a = attention(q, k, lin(n, total, `${b}.attn.to_v`), total, heads, hd, 1 / Math.sqrt(hd));
    const m = map(lin(n, total, `${b}.proj_mlp`), geluTanh);
    const M = m.length / total;
    const joined = new Float64Array(total * (H + M));
    for (let r = 0; r < total; r++) {
      joined.set(a.subarray(r * H, (r + 1) * H), r * (H + M));
      joined.set(m.subarray(r * M, (r + 1) * M), r * (H + M) + H);
    }
    x = gated(x, gate, lin(joined, total, `${b}.proj_out`));
  }
  const [scale, shift] = chunks('norm_out.linear', 2);
  return lin(modulate(x.slice(textLength * H), patches, shift, scale), patches, 'proj_out');
}

/** NCHW float64 VAE decoder pieces. */
interface Map3 {
  c: number;
  h: number;
  w: number;
  data: Float64Array;
}

function conv(x: Map3, w: Tensor, b: Tensor): Map3 {
  const [out, inC, k] = w.shape;
  const pad = (k - 1) / 2;
  const y = new Float64Array(out * x.h * x.w);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < x.h; i++) {
      for (let j = 0; j < x.w; j++) {
        let s = b.data[o];
        for (let ci = 0; ci < inC; ci++) {
          for (let di = 0; di < k; di++) {
            const ii = i + di - pad;
            if (ii < 0 || ii >= x.h) {
              continue;
            }
            for (let dj = 0; dj < k; dj++) {
              const jj = j + dj - pad;
              if (jj >= 0 && jj < x.w) {
                s += x.data[ci * x.h * x.w + ii * x.w + jj] * w.data[((o * inC + ci) * k + di) * k + dj];
              }
            }
          }
        }
        y[o * x.h * x.w + i * x.w + j] = s;
      }
    }
  }
  return { c: out, h: x.h, w: x.w, data: y };
}

function groupNorm(x: Map3, groups: number, w: Tensor, b: Tensor): Map3 {
  const per = x.c / groups;
  const hw = x.h * x.w;
  const y = new Float64Array(x.data.length);
  for (let g = 0; g < groups; g++) {
    const slice = x.data.subarray(g * per * hw, (g + 1) * per * hw);
    const mean = slice.reduce((a, v) => a + v, 0) / slice.length;
    const variance = slice.reduce((a, v) => a + (v - mean) ** 2, 0) / slice.length;
    for (let i = 0; i < slice.length; i++) {
      const ch = g * per + Math.floor(i / hw);
      y[g * per * hw + i] = ((slice[i] - mean) / Math.sqrt(variance + 1e-6)) * w.data[ch] + b.data[ch];
    }
  }
  return { ...x, data: y };
}

function vaeDecode(t: Map<string, Tensor>, c: Record<string, unknown>, latents: Map3): Map3 {
  const groups = c['norm_num_groups'] as number;
  const g = (name: string) => t.get(name)!;
  const cv = (x: Map3, name: string) => conv(x, g(`${name}.weight`), g(`${name}.bias`));
  const gn = (x: Map3, name: string) => groupNorm(x, groups, g(`${name}.weight`), g(`${name}.bias`));
  const act = (x: Map3): Map3 => ({ ...x, data: map(x.data, silu) });
  const resnet = (x: Map3, name: string): Map3 => {
    const h = cv(act(gn(cv(act(gn(x, `${name}.norm1`)), `${name}.conv1`), `${name}.norm2`)), `${name}.conv2`);
    const shortcut = t.has(`${name}.conv_shortcut.weight`) ? cv(x, `${name}.conv_shortcut`) : x;
    return { ...h, data: add(shortcut.data, h.data) };
  };
  const attn = (x: Map3, name: string): Map3 => {
    const n = x.h * x.w;
    const normed = gn(x, `${name}.group_norm`);
    const rows = new Float64Array(n * x.c);
    for (let ch = 0; ch < x.c; ch++) {
      for (let p = 0; p < n; p++) {
        rows[p * x.c + ch] = normed.data[ch * n + p];
      }
    }
    const [q, k, v] = ['to_q', 'to_k', 'to_v'].map((m) => linear(rows, n, g(`${name}.${m}.weight`), g(`${name}.${m}.bias`)));
    const o = linear(attention(q, k, v, n, 1, x.c, 1 / Math.sqrt(x.c)), n, g(`${name}.to_out.0.weight`), g(`${name}.to_out.0.bias`));
    const y = new Float64Array(x.data.length);
    for (let ch = 0; ch < x.c; ch++) {
      for (let p = 0; p < n; p++) {
        y[ch * n + p] = x.data[ch * n + p] + o[p * x.c + ch];
      }
    }
    return { ...x, data: y };
  };
  const upsample = (x: Map3): Map3 => {
    const y = new Float64Array(x.c * x.h * 2 * x.w * 2);
    for (let ch = 0; ch < x.c; ch++) {
      for (let i = 0; i < 2 * x.h; i++) {
        for (let j = 0; j < 2 * x.w; j++) {
          y[ch * 4 * x.h * x.w + i * 2 * x.w + j] = x.data[ch * x.h * x.w + Math.floor(i / 2) * x.w + Math.floor(j / 2)];
        }
      }
    }
    return { c: x.c, h: 2 * x.h, w: 2 * x.w, data: y };
  };
  const z = { ...latents, data: map(latents.data, (v) => v / (c['scaling_factor'] as number) + (c['shift_factor'] as number)) };
  let x = cv(z, 'decoder.conv_in');
  x = resnet(x, 'decoder.mid_block.resnets.0');
  x = attn(x, 'decoder.mid_block.attentions.0');
  x = resnet(x, 'decoder.mid_block.resnets.1');
  const levels = (c['block_out_channels'] as number[]).length;
  for (let level = 0; level < levels; level++) {
    for (let r = 0; r <= (c['layers_per_block'] as number); r++) {
      x = resnet(x, `decoder.up_blocks.${level}.resnets.${r}`);
    }
    if (level < levels - 1) {
      x = cv(upsample(x), `decoder.up_blocks.${level}.upsamplers.0.conv`);
    }
  }
  return cv(act(gn(x, 'decoder.conv_norm_out')), 'decoder.conv_out');
}

function referenceImage(dir: string, prompt: { clip: number[]; t5: number[] }, noise: Float64Array, request: { width: number; height: number; steps: number; guidance: number }): Uint8Array {
  const transformerConfig = json(join(dir, 'transformer', 'config.json'));
  const vaeConfig = json(join(dir, 'vae', 'config.json'));
  const scheduler = json(join(dir, 'scheduler', 'scheduler_config.json'));
  const shards = (folder: string, index: string) => [...new Set(Object.values((json(join(dir, folder, index)) as { weight_map: Record<string, string> }).weight_map))];
  const clip = readFolder(join(dir, 'text_encoder'), ['model.safetensors']);
  const t5 = readFolder(join(dir, 'text_encoder_2'), shards('text_encoder_2', 'model.safetensors.index.json'));
  const transformer = readFolder(join(dir, 'transformer'), shards('transformer', 'diffusion_pytorch_model.safetensors.index.json'));
  const vae = readFolder(join(dir, 'vae'), ['diffusion_pytorch_model.safetensors']);

  const pooled = clipPooled(clip, json(join(dir, 'text_encoder', 'config.json')), prompt.clip);
  const text = t5Encode(t5, json(join(dir, 'text_encoder_2', 'config.json')), prompt.t5);
  const rows = request.height / 16;
  const cols = request.width / 16;
  const patches = rows * cols;
  const ids = [...prompt.t5.map(() => [0, 0, 0]), ...Array.from({ length: patches }, (_, p) => [0, Math.floor(p / cols), p % cols])];
  const hd = transformerConfig['attention_head_dim'] as number;
  const axes = (transformerConfig['axes_dims_rope'] as number[] | undefined) ?? [16, 56, 56].map((a) => (a * hd) / 128);
  const rope = ropeTables(ids, axes, 10000);

  // FlowMatchEulerDiscreteScheduler.set_timesteps(sigmas=linspace(1, 1/N, N), mu=calculate_shift(patches)).
  let sigmas = Array.from({ length: request.steps }, (_, i) => 1 - (i * (1 - 1 / request.steps)) / Math.max(1, request.steps - 1));
  if (scheduler['use_dynamic_shifting']) {
    const m = ((scheduler['max_shift'] as number) - (scheduler['base_shift'] as number)) / ((scheduler['max_image_seq_len'] as number) - (scheduler['base_image_seq_len'] as number));
    const mu = patches * m + ((scheduler['base_shift'] as number) - m * (scheduler['base_image_seq_len'] as number));
    sigmas = sigmas.map((s) => Math.exp(mu) / (Math.exp(mu) + (1 / s - 1)));
  } else {
    const shift = scheduler['shift'] as number;
    sigmas = sigmas.map((s) => (shift * s) / (1 + (shift - 1) * s));
  }
  sigmas.push(0);
  let latents = Float64Array.from(noise);
  for (let step = 0; step < request.steps; step++) {
    const v = transformerVelocity(transformer, transformerConfig, latents, patches, text, prompt.t5.length, pooled, sigmas[step], request.guidance, rope);
    latents = latents.map((x, i) => x + (sigmas[step + 1] - sigmas[step]) * v[i]);
  }
  // _unpack_latents: [patches, C·4] → [C, 2·rows, 2·cols].
  const channels = latents.length / patches / 4;
  const unpacked = new Float64Array(latents.length);
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      for (let ch = 0; ch < channels; ch++) {
        for (let dy = 0; dy < 2; dy++) {
          for (let dx = 0; dx < 2; dx++) {
            unpacked[ch * 4 * patches + (2 * r + dy) * 2 * cols + 2 * q + dx] = latents[(r * cols + q) * channels * 4 + ch * 4 + dy * 2 + dx];
          }
        }
      }
    }
  }
  const decoded = vaeDecode(vae, vaeConfig, { c: channels, h: 2 * rows, w: 2 * cols, data: unpacked });
  const rgb = new Uint8Array(request.width * request.height * 3);
  for (let i = 0; i < request.height; i++) {
    for (let j = 0; j < request.width; j++) {
      for (let ch = 0; ch < 3; ch++) {
        const value = Math.min(1, Math.max(0, decoded.data[ch * request.width * request.height + i * request.width + j] / 2 + 0.5));
        rgb[(i * request.width + j) * 3 + ch] = Math.round(value * 255);
      }
    }
  }
  return rgb;
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let mse = 0;
  for (let i = 0; i < a.length; i++) {
    mse += (a[i] - b[i]) ** 2;
  }
  mse /= a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

let dirs: Map<string, string>;

beforeAll(async () => {
  dirs = await ensureFluxFixtures(testHubDir(), [`${FIXTURE_ORG}/tiny-flux-schnell`, `${FIXTURE_ORG}/tiny-flux-dev`]);
});

describe('FLUX.1 against a float64 reference of the whole pipeline', () => {
  it.each([
    ['schnell (bf16 weights, 4 steps)', 'tiny-flux-schnell', 4, 0],
    ['dev (guidance 3.5, resolution-shifted sigmas)', 'tiny-flux-dev', 3, 3.5],
  ])('%s', async (_case, name, steps, guidance) => {
    const dir = dirs.get(`${FIXTURE_ORG}/${name}`)!;
    const pipeline = await loadFluxPipeline(dir, {});
    const request = { width: 32, height: 48, steps, guidance, seed: 1234 };
    const prompt = 'a watercolor painting of a lighthouse at dusk';
    const image = await pipeline.generate(await pipeline.encodePrompt(prompt), request);

    const clipIds = (await PromptTokenizer.clip(join(dir, 'tokenizer'), 77)).encode(prompt).ids;
    const t5Ids = (await PromptTokenizer.t5(join(dir, 'tokenizer_2'), pipeline.variant === 'dev' ? 512 : 256)).encode(prompt).ids;
    const noise = Float64Array.from(pipeline.initialNoise(request.seed, request.width, request.height).flatten().tolist() as number[]);
    const expected = referenceImage(dir, { clip: clipIds, t5: t5Ids }, noise, request);
    const quality = psnr(image.rgb, expected);
    process.stdout.write(`PSNR ${name}: ${quality.toFixed(1)} dB\n`);
    // Float32 against float64 over four transformer passes and the VAE: a few rounding flips of one level.
    expect(quality).toBeGreaterThan(40);
    // And the picture is not flat (a broken model decoding to one colour would match too easily).
    const distinct = new Set(expected).size;
    expect(distinct).toBeGreaterThan(50);
  });
});
