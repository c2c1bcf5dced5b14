import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { expectOpenAiSchema } from '@mlx-omni/openai-dto/testing';
import { startStack, type RunningStack } from './support/stack';

const MINILM = 'mlx-omni-test/tiny-minilm-4bit';
const QWEN3_EMBEDDING = 'mlx-omni-test/tiny-qwen3-embedding-fp32';
const CROSS_ENCODER = 'mlx-omni-test/tiny-ms-marco-minilm-fp32';
const QWEN3_RERANKER = 'mlx-omni-test/tiny-qwen3-reranker-fp32';
const CHAT = 'mlx-omni-test/tiny-llama-fp32';

const norm = (vector: number[]) => Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
const maxAbsDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

describe('/v1/embeddings and /v1/rerank', () => {
  let stack: RunningStack;
  let client: OpenAI;
  let extraDir: string;

  /** A request outside the SDK: the float encoding, and /v1/rerank, which the OpenAI client has no method for. */
  async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${stack.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  }

  beforeAll(async () => {
    const hub = testHubDir();
    const dirs = await ensureFixtures(hub, [MINILM, QWEN3_EMBEDDING, CROSS_ENCODER, QWEN3_RERANKER, CHAT]);
    // The MiniLM fixture with a Dense module after its pooling (as LaBSE has): listed, but not something the engine runs.
    extraDir = await mkdtemp(join(tmpdir(), 'embeddings-e2e-'));
    const dense = join(extraDir, 'org', 'minilm-dense');
    await mkdir(dense, { recursive: true });
    const source = dirs.get(MINILM) as string;
    for (const name of await readdir(source)) {
      if (name !== 'modules.json') {
        await symlink(join(source, name), join(dense, name));
      }
    }
    await writeFile(
      join(dense, 'modules.json'),
      JSON.stringify([
        { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
        { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
        { idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' },
      ]),
    );
    stack = await startStack({ workers: 1, env: { HF_HUB_CACHE: hub, MLX_OMNI_MODEL_DIRS: extraDir } });
    await stack.waitUntilReady();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(extraDir, { recursive: true, force: true });
  });

  it("answers the SDK's default (base64) call with the same vectors as encoding_format float", async () => {
    const viaSdk = await client.embeddings.create({ model: MINILM, input: 'Hello world' });
    const raw = await post('/v1/embeddings', { model: MINILM, input: 'Hello world', encoding_format: 'float' });
    expect(raw.status).toBe(200);
    expectOpenAiSchema('CreateEmbeddingResponse', raw.body);
    const vector = viaSdk.data[0].embedding;
    expect(vector).toHaveLength(256);
    // Normalized (the fixture lists a Normalize module), and exactly the float answer (float32 both ways).
    expect(norm(vector)).toBeCloseTo(1, 5);
    expect(vector).toEqual(raw.body.data[0].embedding);
    // [CLS] hello world [SEP]
    expect(viaSdk.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    const base64 = await post('/v1/embeddings', { model: MINILM, input: 'Hello world', encoding_format: 'base64' });
    expect(typeof base64.body.data[0].embedding).toBe('string');
    expect(Buffer.from(base64.body.data[0].embedding, 'base64').length).toBe(256 * 4);
  });

  it('embeds a batch in order, each vector as it is alone (padding changes nothing), and token ids as given', async () => {
    const texts = ['Hello world', 'how many people live in berlin? around three and a half million people live there', 'mars'];
    const batch = await client.embeddings.create({ model: MINILM, input: texts });
    expect(batch.data.map((item) => item.index)).toEqual([0, 1, 2]);
    for (const [index, text] of texts.entries()) {
      const alone = await client.embeddings.create({ model: MINILM, input: text });
      expect(maxAbsDiff(batch.data[index].embedding, alone.data[0].embedding)).toBeLessThan(1e-5);
    }
    const ids = await client.embeddings.create({ model: MINILM, input: [[101, 7592, 2088, 102]] });
    expect(maxAbsDiff(ids.data[0].embedding, batch.data[0].embedding)).toBeLessThan(1e-5);
    const single = await client.embeddings.create({ model: MINILM, input: [101, 7592, 2088, 102] });
    expect(single.data).toHaveLength(1);
    expect(single.usage.prompt_tokens).toBe(4);
  });

  it('gives Matryoshka prefixes of Qwen3-Embedding, renormalized, and counts the appended <|endoftext|>', async () => {
    const full = await client.embeddings.create({ model: QWEN3_EMBEDDING, input: 'hello' });
    const short = await client.embeddings.create({ model: QWEN3_EMBEDDING, input: 'hello', dimensions: 16 });
    expect(full.usage.prompt_tokens).toBe(2);
    expect(short.data[0].embedding).toHaveLength(16);
    expect(norm(short.data[0].embedding)).toBeCloseTo(1, 5);
    const prefix = full.data[0].embedding.slice(0, 16);
    expect(maxAbsDiff(short.data[0].embedding, prefix.map((v) => v / norm(prefix)))).toBeLessThan(1e-5);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['an empty string', { model: MINILM, input: '' }, 'input', 'invalid_value'],
    ['an empty list', { model: MINILM, input: [] }, 'input', 'invalid_value'],
    ['an empty string in a list', { model: MINILM, input: ['ok', ''] }, 'input', 'invalid_value'],
    ['more than 2048 inputs', { model: MINILM, input: Array(2049).fill('a') }, 'input', 'invalid_value'],
    ['a token id outside the vocabulary', { model: MINILM, input: [101, 30522, 102] }, 'input', 'invalid_value'],
    ['dimensions on a model without Matryoshka training', { model: MINILM, input: 'hi', dimensions: 8 }, 'dimensions', 'invalid_value'],
    ['dimensions above the model size', { model: QWEN3_EMBEDDING, input: 'hi', dimensions: 65 }, 'dimensions', 'invalid_value'],
    ['a chat model', { model: CHAT, input: 'hi' }, 'model', 'model_not_supported'],
    ['a reranker', { model: CROSS_ENCODER, input: 'hi' }, 'model', 'model_not_supported'],
  ])('400 in the OpenAI envelope for %s', async (_case, body, param, code) => {
    const error = await client.embeddings.create(body as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).param).toBe(param);
    expect((error as BadRequestError).code).toBe(code);
  });

  it('answers 400 naming the module for a listed model whose packaging the engine does not run, never 500', async () => {
    const error = await client.embeddings.create({ model: 'org/minilm-dense', input: 'hi' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).code).toBe('model_not_supported');
    expect((error as BadRequestError).message).toMatch(/lists a Dense module \(2_Dense\), which this server does not run/);
  });

  it('refuses an over-long input with the limit in the message, truncating nothing', async () => {
    const error = await client.embeddings.create({ model: MINILM, input: ['short', 'word '.repeat(300)] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).code).toBe('context_length_exceeded');
    expect((error as BadRequestError).message).toMatch(/input\[1\] is 302 tokens long; this model's maximum input length is 256 tokens/);
  });

  it('answers 404 model_not_found for an unknown model', async () => {
    const error = await client.embeddings.create({ model: 'nobody/no-such-embedder', input: 'hi' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe('model_not_found');
  });

  it('reranks with a cross-encoder and with Qwen3-Reranker: sorted results, top_n, documents on request', async () => {
    const documents = ['Mars is the red planet', 'hello world', 'the planet of the query', 'berlin'];
    for (const model of [CROSS_ENCODER, QWEN3_RERANKER]) {
      const all = await post('/v1/rerank', { model, query: 'what is the red planet', documents });
      expect(all.status).toBe(200);
      const results = all.body.results as Array<{ index: number; relevance_score: number; document?: { text: string } }>;
      expect(results.map((r) => r.index).sort()).toEqual([0, 1, 2, 3]);
      for (let i = 1; i < results.length; i++) {
        expect(results[i - 1].relevance_score).toBeGreaterThanOrEqual(results[i].relevance_score);
      }
      expect(results.every((r) => r.relevance_score > 0 && r.relevance_score < 1 && r.document?.text === documents[r.index])).toBe(true);
      expect(all.body.usage.prompt_tokens).toBeGreaterThan(0);
      const top = await post('/v1/rerank', { model, query: 'what is the red planet', documents, top_n: 2, return_documents: false });
      expect(top.body.results).toEqual(results.slice(0, 2).map(({ index, relevance_score }) => ({ index, relevance_score })));
    }
  });

  it.each<[string, Record<string, unknown>, number, string]>([
    ['no documents', { model: CROSS_ENCODER, query: 'q', documents: [] }, 400, 'invalid_value'],
    ['an embedding model', { model: MINILM, query: 'q', documents: ['d'] }, 400, 'model_not_supported'],
    ['a pair longer than the model takes', { model: CROSS_ENCODER, query: 'q', documents: ['word '.repeat(600)] }, 400, 'context_length_exceeded'],
    ['an unknown model', { model: 'nobody/no-such-reranker', query: 'q', documents: ['d'] }, 404, 'model_not_found'],
  ])('rerank answers %s with an error envelope', async (_case, body, status, code) => {
    const response = await post('/v1/rerank', body);
    expect(response.status).toBe(status);
    expect(response.body.error).toMatchObject({ code });
    expect(typeof response.body.error.message).toBe('string');
  });

  it('lists the embedding and rerank models with their kind and family, and counts their tokens in /metrics', async () => {
    const listed = (await (await fetch(`${stack.baseUrl}/v1/models`)).json()) as { data: Array<{ id: string; kind: string; family: string; supported: boolean }> };
    const find = (id: string) => listed.data.find((model) => model.id === id);
    expect(find(MINILM)).toMatchObject({ kind: 'embedding', family: 'bert', supported: true });
    expect(find(QWEN3_EMBEDDING)).toMatchObject({ kind: 'embedding', family: 'qwen3-embedding', supported: true });
    expect(find(CROSS_ENCODER)).toMatchObject({ kind: 'rerank', family: 'cross-encoder', supported: true });
    expect(find(QWEN3_RERANKER)).toMatchObject({ kind: 'rerank', family: 'qwen3-reranker', supported: true });
    const metrics = await (await fetch(`${stack.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`embedding_tokens_total\\{model="${MINILM}",endpoint="embeddings"\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`embedding_requests_total\\{model="${CROSS_ENCODER}",endpoint="rerank",outcome="finished"\\} [1-9]`));
  });
});
