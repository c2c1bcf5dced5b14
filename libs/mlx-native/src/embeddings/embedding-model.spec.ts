import { ensureFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { EmbeddingInputError } from './errors';
import { loadEmbeddingModel, type EmbeddingFamilyId } from './load';

jest.setTimeout(120_000);

const maxAbsDiff = (a: Float32Array, b: Float32Array) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

const LONG = 'the query and the document of the search is in the red planet and how what is the planet of the query '.repeat(3);

describe.each<[string, EmbeddingFamilyId]>([
  ['mlx-omni-test/tiny-minilm-fp32', 'bert'],
  ['mlx-omni-test/tiny-bge-m3-fp32', 'xlm-roberta'],
  ['mlx-omni-test/tiny-modernbert-embed-fp32', 'modernbert'],
  ['mlx-omni-test/tiny-qwen3-embedding-fp32', 'qwen3-embedding'],
])('EmbeddingModel %s', (id, family) => {
  it('gives every input the vector it has alone, however long the others in its padded batch', async () => {
    const dir = (await ensureFixtures(testHubDir(), [id])).get(id) as string;
    const { embedder } = await loadEmbeddingModel(family, dir);
    const texts = ['hello', LONG, 'what is the red planet'];
    const together = await embedder.embed(embedder.tokenize(texts));
    for (const [index, text] of texts.entries()) {
      const [alone] = await embedder.embed(embedder.tokenize([text]));
      expect(maxAbsDiff(together[index], alone)).toBeLessThan(1e-5);
    }
  });
});

describe('EmbeddingModel input checks', () => {
  it('names the input that is empty, out of the vocabulary or too long, and refuses dimensions without Matryoshka training', async () => {
    const id = 'mlx-omni-test/tiny-minilm-fp32';
    const dir = (await ensureFixtures(testHubDir(), [id])).get(id) as string;
    const { embedder } = await loadEmbeddingModel('bert', dir);
    const failure = (work: () => unknown) => {
      try {
        work();
      } catch (error) {
        return error as EmbeddingInputError;
      }
      throw new Error('expected an EmbeddingInputError');
    };
    expect(failure(() => embedder.tokenize(['ok', ''])).message).toBe('input[1] is an empty string');
    expect(failure(() => embedder.tokenize([[101, 30522]])).message).toBe("input holds token id 30522, outside this model's vocabulary of 30522");
    const long = failure(() => embedder.tokenize(['a', 'word '.repeat(255)]));
    expect(long.code).toBe('context_length_exceeded');
    expect(long.message).toBe("input[1] is 257 tokens long; this model's maximum input length is 256 tokens. Shorten the input.");
    // 254 words + [CLS] + [SEP] is exactly the limit.
    expect(embedder.tokenize(['word '.repeat(254)])[0]).toHaveLength(256);
    await expect(embedder.embed([[101, 102]], { dimensions: 8 })).rejects.toThrow(/does not support the dimensions parameter/);
  });
});
