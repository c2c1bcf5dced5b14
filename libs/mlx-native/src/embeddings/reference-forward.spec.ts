import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  attend,
  cosine,
  gelu,
  layerNorm,
  matvec,
  readTensors,
  ropeFrequencies,
  rotate,
  values,
  type Tensor,
} from '../testing/float64-reference';
import { readTensors as readDecoderTensors, referenceStates, type Matrix } from '../testing/decoder-reference';
import { loadEmbeddingModel, loadRerankModel, type EmbeddingFamilyId, type RerankFamilyId } from './load';

jest.setTimeout(240_000);

/**
 * The engine's vectors and relevance scores against float64 forwards written here from the papers and
 * Hugging Face's modeling code (BertModel, XLMRobertaModel, ModernBertModel, Qwen3Model, the
 * sequence-classification heads, sentence-transformers' Pooling / Normalize / LogitScore), one input
 * at a time and unpadded, while the engine runs them together in one padded batch.
 */

type Config = Record<string, unknown>;
type Tensors = Map<string, Tensor>;

const num = (config: Config, key: string) => config[key] as number;

function tensorOf(t: Tensors, name: string): Tensor {
  const found = t.get(name);
  if (!found) {
    throw new Error(`reference: no tensor ${name}`);
  }
  return found;
}

/** Splits a [heads·headDim] vector into heads. */
const heads = (v: Float64Array, count: number, dim: number) => Array.from({ length: count }, (_, h) => v.slice(h * dim, (h + 1) * dim));
const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);

/** BERT / RoBERTa encoder: token states of one unpadded input. RoBERTa numbers positions from padding_idx + 1. */
function bertStates(t: Tensors, config: Config, prefix: string, ids: number[], typeIds: number[]): Float64Array[] {
  const get = (name: string) => tensorOf(t, prefix + name);
  const eps = num(config, 'layer_norm_eps');
  const hidden = num(config, 'hidden_size');
  const headCount = num(config, 'num_attention_heads');
  const dim = hidden / headCount;
  const roberta = config['model_type'] !== 'bert';
  const firstPosition = roberta ? num(config, 'pad_token_id') + 1 : 0;
  const norm = (x: Float64Array, name: string) => layerNorm(x, values(get(`${name}.weight`)), values(get(`${name}.bias`)), eps);
  const linear = (x: Float64Array, name: string) => matvec(get(`${name}.weight`), x, get(`${name}.bias`));
  let xs = ids.map((id, i) =>
    norm(
      add(add(get('embeddings.word_embeddings.weight').row(id), get('embeddings.position_embeddings.weight').row(firstPosition + i)), get('embeddings.token_type_embeddings.weight').row(typeIds[i])),
      'embeddings.LayerNorm',
    ),
  );
  const all = ids.map((_, j) => j);
  for (let l = 0; l < num(config, 'num_hidden_layers'); l++) {
    const p = `encoder.layer.${l}`;
    const q = xs.map((x) => heads(linear(x, `${p}.attention.self.query`), headCount, dim));
    const k = xs.map((x) => heads(linear(x, `${p}.attention.self.key`), headCount, dim));
    const v = xs.map((x) => heads(linear(x, `${p}.attention.self.value`), headCount, dim));
    xs = xs.map((x, i) => {
      const context = new Float64Array(hidden);
      for (let h = 0; h < headCount; h++) {
        context.set(attend(q[i][h], k.map((kk) => kk[h]), v.map((vv) => vv[h]), all, 1 / Math.sqrt(dim)), h * dim);
      }
      const attended = norm(add(x, linear(context, `${p}.attention.output.dense`)), `${p}.attention.output.LayerNorm`);
      const inner = linear(attended, `${p}.intermediate.dense`).map(gelu);
      return norm(add(attended, linear(inner, `${p}.output.dense`)), `${p}.output.LayerNorm`);
    });
  }
  return xs;
}

/** ModernBERT: pre-norm layers, rope per layer kind, local layers within local_attention / 2, GeGLU, final norm. */
function modernBertStates(t: Tensors, config: Config, ids: number[]): Float64Array[] {
  const get = (name: string) => tensorOf(t, name);
  const eps = num(config, 'norm_eps');
  const hidden = num(config, 'hidden_size');
  const headCount = num(config, 'num_attention_heads');
  const dim = hidden / headCount;
  const intermediate = num(config, 'intermediate_size');
  const norm = (x: Float64Array, name: string) => layerNorm(x, values(get(`${name}.weight`)), undefined, eps);
  let xs = ids.map((id) => norm(get('embeddings.tok_embeddings.weight').row(id), 'embeddings.norm'));
  for (let l = 0; l < num(config, 'num_hidden_layers'); l++) {
    const p = `layers.${l}`;
    const global = l % num(config, 'global_attn_every_n_layers') === 0;
    const freqs = ropeFrequencies(dim, global ? num(config, 'global_rope_theta') : num(config, 'local_rope_theta'));
    const reach = global ? Infinity : Math.floor(num(config, 'local_attention') / 2);
    const qkv = xs.map((x, pos) => {
      const all = matvec(get(`${p}.attn.Wqkv.weight`), l === 0 ? x : norm(x, `${p}.attn_norm`));
      const [q, k, v] = [0, 1, 2].map((part) => heads(all.slice(part * hidden, (part + 1) * hidden), headCount, dim));
      return { q: q.map((h) => rotate(h, pos, freqs)), k: k.map((h) => rotate(h, pos, freqs)), v };
    });
    xs = xs.map((x, i) => {
      const visible = ids.map((_, j) => j).filter((j) => Math.abs(i - j) <= reach);
      const context = new Float64Array(hidden);
      for (let h = 0; h < headCount; h++) {
        context.set(attend(qkv[i].q[h], qkv.map((s) => s.k[h]), qkv.map((s) => s.v[h]), visible, 1 / Math.sqrt(dim)), h * dim);
      }
      const attended = add(x, matvec(get(`${p}.attn.Wo.weight`), context));
      const wi = matvec(get(`${p}.mlp.Wi.weight`), norm(attended, `${p}.mlp_norm`));
      const act = Float64Array.from({ length: intermediate }, (_, j) => gelu(wi[j]) * wi[intermediate + j]);
      return add(attended, matvec(get(`${p}.mlp.Wo.weight`), act));
    });
  }
  return xs.map((x) => norm(x, 'final_norm'));
}

/** Qwen3's decoder, final norm included; Qwen's bare checkpoints are read under the `model.` names. */
function qwen3States(dir: string, config: Config, ids: number[]): { states: Float64Array[]; tensors: Map<string, Matrix> } {
  const stored = readDecoderTensors(dir, config);
  const bare = !stored.has('model.norm.weight');
  const tensors = bare ? new Map([...stored].map(([name, tensor]) => [name.startsWith('lm_head.') ? name : `model.${name}`, tensor])) : stored;
  const states = referenceStates(
    tensors,
    {
      hidden: num(config, 'hidden_size'),
      layers: num(config, 'num_hidden_layers'),
      heads: num(config, 'num_attention_heads'),
      kvHeads: num(config, 'num_key_value_heads'),
      headDim: num(config, 'head_dim'),
      eps: num(config, 'rms_norm_eps'),
      qkNorm: true,
      rope: () => ({ theta: num(config, 'rope_theta'), positionDivisor: 1 }),
    },
    ids,
  );
  return { states, tensors };
}

function normalize(v: Float64Array): Float64Array {
  const length = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / length);
}

/** sentence-transformers' Pooling over an unpadded input: [CLS], the mean of every token, or the last. */
function pooled(states: Float64Array[], mode: string): Float64Array {
  switch (mode) {
    case 'cls':
      return states[0];
    case 'lasttoken':
      return states[states.length - 1];
    default:
      return states.reduce((sum, s) => add(sum, s), new Float64Array(states[0].length)).map((v) => v / states.length);
  }
}

function readConfig(dir: string, file = 'config.json'): Config {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as Config;
}

function poolingModeOf(dir: string): string {
  const pooling = readConfig(dir, '1_Pooling/config.json');
  return ['cls', 'lasttoken', 'mean'].find((mode) => pooling[mode === 'cls' ? 'pooling_mode_cls_token' : mode === 'mean' ? 'pooling_mode_mean_tokens' : 'pooling_mode_lasttoken'] === true)!;
}

const TEXTS = [
  'hello world',
  'How many people live in Berlin? the query and the document',
  'what is the red planet; the search of the document is in the query and how',
];

const EMBEDDING_CASES: Array<[string, EmbeddingFamilyId]> = [
  ['mlx-omni-test/tiny-minilm-fp32', 'bert'],
  ['mlx-omni-test/tiny-minilm-4bit', 'bert'],
  ['mlx-omni-test/tiny-bge-m3-fp32', 'xlm-roberta'],
  ['mlx-omni-test/tiny-multilingual-e5-4bit', 'xlm-roberta'],
  ['mlx-omni-test/tiny-modernbert-embed-fp32', 'modernbert'],
  ['mlx-omni-test/tiny-modernbert-embed-4bit', 'modernbert'],
  ['mlx-omni-test/tiny-qwen3-embedding-fp32', 'qwen3-embedding'],
  ['mlx-omni-test/tiny-qwen3-embedding-4bit', 'qwen3-embedding'],
];

describe.each(EMBEDDING_CASES)('float64 reference embedding: %s', (id, family) => {
  it('gives the same vectors (cosine ≥ 0.9999) for inputs of different lengths batched together', async () => {
    const dir = (await ensureFixtures(testHubDir(), [id])).get(id) as string;
    const config = readConfig(dir);
    const { embedder } = await loadEmbeddingModel(family, dir);
    const sequences = embedder.tokenize(TEXTS);
    // The ModernBERT fixtures' local window (4 either side) must be crossed.
    expect(Math.max(...sequences.map((s) => s.length))).toBeGreaterThan(10);
    const engine = await embedder.embed(sequences);
    const mode = poolingModeOf(dir);
    const tensors = family === 'qwen3-embedding' ? undefined : readTensors(dir);
    sequences.forEach((ids, i) => {
      const states =
        family === 'modernbert'
          ? modernBertStates(tensors!, config, ids)
          : family === 'qwen3-embedding'
            ? qwen3States(dir, config, ids).states
            : bertStates(tensors!, config, '', ids, ids.map(() => 0));
      const reference = normalize(pooled(states, mode));
      const similarity = cosine(engine[i], reference);
      console.log(`${id} input ${i} (${ids.length} tokens): cosine ${similarity.toFixed(8)}`);
      expect(similarity).toBeGreaterThanOrEqual(0.9999);
      expect(engine[i].length).toBe(num(config, 'hidden_size'));
    });
  });
});

const QUERY = 'what is the red planet';
const DOCUMENTS = ['Mars is the red planet', 'hello world', 'the query and the document of the search is in the planet and how it is'];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

const RERANK_CASES: Array<[string, RerankFamilyId]> = [
  ['mlx-omni-test/tiny-ms-marco-minilm-fp32', 'cross-encoder'],
  ['mlx-omni-test/tiny-bge-reranker-4bit', 'cross-encoder'],
  ['mlx-omni-test/tiny-qwen3-reranker-fp32', 'qwen3-reranker'],
  ['mlx-omni-test/tiny-qwen3-reranker-4bit', 'qwen3-reranker'],
];

/** The logit each head computes from the reference states of one (query, document) sequence. */
function referenceRelevance(dir: string, config: Config, ids: number[], typeIds: number[]): number {
  if (config['model_type'] === 'qwen3') {
    const { states, tensors } = qwen3States(dir, config, ids);
    const logitScore = readConfig(dir, '1_LogitScore/config.json');
    const head = tensors.get('lm_head.weight') ?? tensors.get('model.embed_tokens.weight')!;
    const last = states[states.length - 1];
    const logit = (token: number) => head.data.subarray(token * head.cols, (token + 1) * head.cols).reduce((sum, w, d) => sum + w * last[d], 0);
    return logit(num(logitScore, 'true_token_id')) - logit(num(logitScore, 'false_token_id'));
  }
  const t = readTensors(dir);
  const roberta = config['model_type'] !== 'bert';
  const cls = bertStates(t, config, roberta ? 'roberta.' : 'bert.', ids, typeIds)[0];
  if (roberta) {
    const dense = matvec(tensorOf(t, 'classifier.dense.weight'), cls, tensorOf(t, 'classifier.dense.bias')).map(Math.tanh);
    return matvec(tensorOf(t, 'classifier.out_proj.weight'), dense, tensorOf(t, 'classifier.out_proj.bias'))[0];
  }
  const pooler = matvec(tensorOf(t, 'bert.pooler.dense.weight'), cls, tensorOf(t, 'bert.pooler.dense.bias')).map(Math.tanh);
  return matvec(tensorOf(t, 'classifier.weight'), pooler, tensorOf(t, 'classifier.bias'))[0];
}

describe.each(RERANK_CASES)('float64 reference rerank: %s', (id, family) => {
  it('scores every document as the reference head does (sigmoid of its logit)', async () => {
    const dir = (await ensureFixtures(testHubDir(), [id])).get(id) as string;
    const config = readConfig(dir);
    const { reranker } = await loadRerankModel(family, dir);
    const pairs = reranker.tokenize(QUERY, DOCUMENTS);
    const engine = await reranker.score(pairs);
    const reference = pairs.map((pair) => sigmoid(referenceRelevance(dir, config, [...pair.ids], [...(pair.typeIds ?? pair.ids.map(() => 0))])));
    console.log(`${id}: engine ${engine.map((s) => s.toFixed(6)).join(', ')} reference ${reference.map((s) => s.toFixed(6)).join(', ')}`);
    engine.forEach((score, i) => expect(Math.abs(score - reference[i])).toBeLessThan(1e-4));
    // The scores must be spread enough that the comparison means something.
    expect(Math.max(...reference) - Math.min(...reference)).toBeGreaterThan(1e-3);
  });
});
