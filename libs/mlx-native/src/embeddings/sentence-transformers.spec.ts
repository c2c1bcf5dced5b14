import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelLoadError } from '../io/errors';
import { readSentenceTransformerSetup } from './sentence-transformers';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'st-setup-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(path: string, value: unknown): Promise<void> {
  await mkdir(join(dir, path, '..'), { recursive: true });
  await writeFile(join(dir, path), JSON.stringify(value));
}

const entry = (idx: number, path: string, type: string) => ({ idx, name: String(idx), path, type });

describe('readSentenceTransformerSetup', () => {
  it('has no pooling and no normalization without modules.json (the caller picks the default)', async () => {
    expect(await readSentenceTransformerSetup(dir)).toMatchObject({ pooling: undefined, normalize: false, maxSeqLength: undefined });
  });

  it("reads v2 pooling flags, a Normalize module and sentence_bert_config's max_seq_length", async () => {
    await write('modules.json', [
      entry(0, '', 'sentence_transformers.models.Transformer'),
      entry(1, '1_Pooling', 'sentence_transformers.models.Pooling'),
      entry(2, '2_Normalize', 'sentence_transformers.models.Normalize'),
    ]);
    await write('1_Pooling/config.json', { word_embedding_dimension: 384, pooling_mode_cls_token: false, pooling_mode_mean_tokens: true, pooling_mode_max_tokens: false });
    await write('sentence_bert_config.json', { max_seq_length: 256, do_lower_case: false });
    expect(await readSentenceTransformerSetup(dir)).toMatchObject({ pooling: 'mean', normalize: true, maxSeqLength: 256 });
  });

  it('reads v5 module names and a pooling_mode string; CLS pooling without Normalize stays unnormalized', async () => {
    await write('modules.json', [
      entry(0, '', 'sentence_transformers.base.modules.transformer.Transformer'),
      entry(1, '1_Pooling', 'sentence_transformers.sentence_transformer.modules.pooling.Pooling'),
    ]);
    await write('1_Pooling/config.json', { embedding_dimension: 1024, pooling_mode: 'cls' });
    expect(await readSentenceTransformerSetup(dir)).toMatchObject({ pooling: 'cls', normalize: false });
  });

  it("reads a generative reranker's LogitScore tokens and its default prompt", async () => {
    await write('modules.json', [entry(0, '', 'sentence_transformers.base.modules.transformer.Transformer'), entry(1, '1_LogitScore', 'sentence_transformers.cross_encoder.modules.logit_score.LogitScore')]);
    await write('1_LogitScore/config.json', { true_token_id: 9693, false_token_id: 2152, module_input_name: 'causal_logits' });
    await write('config_sentence_transformers.json', { prompts: { web: 'Find it' }, default_prompt_name: 'web' });
    expect(await readSentenceTransformerSetup(dir)).toMatchObject({ logitScore: { trueTokenId: 9693, falseTokenId: 2152 }, prompts: { web: 'Find it' }, defaultPromptName: 'web' });
  });

  it.each<[string, unknown[], Record<string, unknown>, RegExp]>([
    ['a Dense projection', [entry(2, '2_Dense', 'sentence_transformers.models.Dense')], {}, /lists a Dense module \(2_Dense\), which this server does not run/],
    ['weighted-mean pooling', [entry(1, '1_Pooling', 'sentence_transformers.models.Pooling')], { pooling_mode_weightedmean_tokens: true }, /pooling "pooling_mode_weightedmean_tokens" is not supported/],
    ['two pooling modes at once', [entry(1, '1_Pooling', 'sentence_transformers.models.Pooling')], { pooling_mode_cls_token: true, pooling_mode_max_tokens: true }, /pooling "cls \+ max" is not supported/],
    ['pooling without the prompt', [entry(1, '1_Pooling', 'sentence_transformers.models.Pooling')], { pooling_mode_mean_tokens: true, include_prompt: false }, /include_prompt: false/],
  ])('refuses %s with a load error naming it', async (_case, modules, pooling, message) => {
    await write('modules.json', [entry(0, '', 'sentence_transformers.models.Transformer'), ...modules]);
    await write('1_Pooling/config.json', pooling);
    await expect(readSentenceTransformerSetup(dir)).rejects.toThrow(ModelLoadError);
    await expect(readSentenceTransformerSetup(dir)).rejects.toThrow(message);
  });
});
