import { classifyModel, MODEL_FAMILIES, supportedFamilies, type FamilyDeclaration, type ModelKind } from './families';
import type { JsonObject, ModelSignals } from './signals';

const LM_FILES = ['config.json', 'tokenizer.json', 'model.safetensors'];
const WHISPER_DIMS = { n_mels: 80, n_audio_ctx: 1500, n_audio_state: 384, n_audio_head: 6, n_audio_layer: 4, n_vocab: 51865, n_text_ctx: 448, n_text_state: 384, n_text_head: 6, n_text_layer: 4 };

/** `kind/family`, or `incomplete kind/family`, or `none`: what a listing makes of the folder. */
function describe_(config: JsonObject | undefined, files: string[], weightsComplete = true, modelIndex?: JsonObject): string {
  const found = classifyModel({ config, modelIndex, files: new Set(files), weightsComplete });
  if (found === undefined) {
    return 'none';
  }
  return `${found.complete ? '' : 'incomplete '}${found.family.kind}/${found.family.id}`;
}

describe('classifyModel', () => {
  it.each<[string, JsonObject | undefined, string[], string]>([
    ['a causal LM by architecture', { model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'] }, LM_FILES, 'chat/qwen3'],
    ['a causal LM by model_type when architectures are missing', { model_type: 'mistral' }, ['config.json', 'tokenizer.model', 'model.safetensors'], 'chat/mistral'],
    ['a byte-level BPE tokenizer in vocab.json + merges.txt', { architectures: ['LlamaForCausalLM'] }, ['config.json', 'vocab.json', 'merges.txt', 'model.safetensors'], 'chat/causal-lm'],
    ['a tiktoken tokenizer', { architectures: ['SomeNewForCausalLM'] }, ['config.json', 'tiktoken.model.tiktoken', 'model.safetensors'], 'chat/causal-lm'],
    ['a multimodal model with a text tower', { model_type: 'gemma3', architectures: ['Gemma3ForConditionalGeneration'], text_config: {} }, LM_FILES, 'chat/gemma3'],
    ['an architecture the engine does not run', { model_type: 'starcoder2', architectures: ['Starcoder2ForCausalLM'] }, LM_FILES, 'chat/starcoder2'],
    ['a seq2seq model without a text tower', { model_type: 't5', architectures: ['T5ForConditionalGeneration'] }, LM_FILES, 'none'],
    ['a sentence-transformers BERT', { model_type: 'bert', architectures: ['BertModel'] }, [...LM_FILES, 'modules.json'], 'embedding/bert'],
    ['a headless BERT (mlx-community conversion without modules.json)', { model_type: 'bert', architectures: ['BertModel'] }, LM_FILES, 'embedding/bert'],
    ['an XLM-RoBERTa embedder (bge-m3)', { model_type: 'xlm-roberta', architectures: ['XLMRobertaModel'] }, [...LM_FILES, 'modules.json'], 'embedding/xlm-roberta'],
    ['a ModernBERT embedder', { model_type: 'modernbert', architectures: ['ModernBertModel'] }, [...LM_FILES, 'modules.json'], 'embedding/modernbert'],
    ['a sentence-transformers MPNet, which the engine does not run', { model_type: 'mpnet', architectures: ['MPNetModel'] }, [...LM_FILES, 'modules.json'], 'embedding/encoder-embedding'],
    ['an XLM-RoBERTa cross-encoder (bge-reranker-v2-m3)', { model_type: 'xlm-roberta', architectures: ['XLMRobertaForSequenceClassification'] }, LM_FILES, 'rerank/cross-encoder'],
    [
      'Qwen3-Reranker packaged with a LogitScore module',
      { model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'] },
      [...LM_FILES, 'modules.json', 'config_sentence_transformers.json', '1_LogitScore/config.json'],
      'rerank/qwen3-reranker',
    ],
    ['a Qwen3-Reranker seq-cls conversion', { model_type: 'qwen3', architectures: ['Qwen3ForSequenceClassification'] }, LM_FILES, 'rerank/qwen3-reranker'],
    ['a headless nomic_bert encoder', { model_type: 'nomic_bert', architectures: ['NomicBertModel'] }, ['config.json', 'vocab.txt', 'model.safetensors'], 'embedding/encoder-embedding'],
    ['a BERT cross-encoder', { model_type: 'bert', architectures: ['BertForSequenceClassification'] }, ['config.json', 'vocab.txt', 'model.safetensors'], 'rerank/cross-encoder'],
    ['a BERT with a masked-LM head', { model_type: 'bert', architectures: ['BertForMaskedLM'] }, ['config.json', 'vocab.txt', 'model.safetensors'], 'none'],
    ['a decoder shipped as a sentence-transformer', { model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'] }, [...LM_FILES, 'config_sentence_transformers.json'], 'embedding/qwen3-embedding'],
    ['a transformers Whisper (a *ForConditionalGeneration)', { model_type: 'whisper', architectures: ['WhisperForConditionalGeneration'] }, ['config.json', 'model.safetensors', 'tokenizer.json'], 'speech-to-text/whisper-transformers'],
    ['an mlx-whisper folder with weights.npz', { ...WHISPER_DIMS }, ['config.json', 'weights.npz'], 'speech-to-text/whisper'],
    ['an mlx-whisper folder with weights.safetensors and model_type', { ...WHISPER_DIMS, model_type: 'whisper' }, ['config.json', 'weights.safetensors'], 'speech-to-text/whisper'],
    ['an mlx-whisper folder with model.safetensors', { ...WHISPER_DIMS, model_type: 'whisper', quantization: { bits: 4, group_size: 64 } }, ['config.json', 'model.safetensors'], 'speech-to-text/whisper'],
    ['n_mels alone is no mlx-whisper config', { n_mels: 80 }, ['config.json', 'weights.npz'], 'none'],
    ['a Kokoro voice model by model_type', { model_type: 'kokoro' }, ['config.json', 'model.safetensors', 'voices/af_heart.safetensors'], 'text-to-speech/kokoro'],
    ['Kokoro-82M, whose config has no model_type', { istftnet: {}, plbert: {}, vocab: {} }, ['config.json', 'kokoro-v1_0.safetensors', 'voices/af_heart.safetensors'], 'text-to-speech/kokoro'],
    ['Kokoro-82M without its voices', { istftnet: {}, plbert: {}, vocab: {} }, ['config.json', 'kokoro-v1_0.safetensors'], 'incomplete text-to-speech/kokoro'],
    ['a vocab and an istftnet section alone (not Kokoro)', { istftnet: {}, vocab: {} }, ['config.json', 'model.safetensors'], 'none'],
    ['F5-TTS as lucasnewman/f5-tts-mlx ships it (no config.json)', undefined, ['model_v1.safetensors', 'vocab.txt', 'duration_v2.safetensors'], 'text-to-speech/f5-tts'],
    ['a quantized F5-TTS conversion', undefined, ['model_v1_8b.safetensors', 'vocab.txt'], 'text-to-speech/f5-tts'],
    ['a diffusers pipeline whose model_index.json is not read', undefined, ['model_index.json', 'transformer/diffusion_pytorch_model.safetensors', 'vae/config.json'], 'image/diffusers-pipeline'],
    ['an mflux save', undefined, ['transformer/0.safetensors', 'vae/0.safetensors', 'text_encoder/0.safetensors', 'text_encoder_2/0.safetensors', 'tokenizer/vocab.json'], 'image/flux'],
    ['transformer/ and vae/ folders without text encoders', undefined, ['transformer/0.safetensors', 'vae/0.safetensors'], 'none'],
    ['DiffusionKit: BFL files at the top', undefined, ['flux-schnell.safetensors', 'ae.safetensors', 'README.md'], 'image/flux'],
    ['an autoencoder alone', undefined, ['ae.safetensors'], 'none'],
    ['no config at all', undefined, ['model.safetensors'], 'none'],
  ])('%s', (_case, config, files, expected) => {
    expect(describe_(config, files)).toBe(expected);
  });

  it.each<[string, JsonObject, string]>([
    ['FLUX.1 in diffusers layout', { _class_name: 'FluxPipeline' }, 'image/flux'],
    ['FLUX.2 (another transformer and text encoder)', { _class_name: 'Flux2Pipeline' }, 'image/diffusers-pipeline'],
    ['FLUX.1 Fill (inpainting, 384 input channels)', { _class_name: 'FluxFillPipeline' }, 'image/diffusers-pipeline'],
    ['Stable Diffusion XL', { _class_name: 'StableDiffusionXLPipeline' }, 'image/diffusers-pipeline'],
  ])('tells diffusers pipelines apart by model_index.json: %s', (_case, modelIndex, expected) => {
    const files = ['model_index.json', 'transformer/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.safetensors'];
    expect(describe_(undefined, files, true, modelIndex)).toBe(expected);
  });

  it("is incomplete when the matching family's needs are missing, without falling through to a later family", () => {
    const chat = { model_type: 'llama', architectures: ['LlamaForCausalLM'] };
    expect(describe_(chat, ['config.json', 'model.safetensors'])).toBe('incomplete chat/llama');
    expect(describe_(chat, LM_FILES, false)).toBe('incomplete chat/llama');
    // Matches an embedding family (modules.json) but has no tokenizer; the chat family must not claim it.
    expect(describe_(chat, ['config.json', 'modules.json', 'model.safetensors'])).toBe('incomplete embedding/encoder-embedding');
  });
});

describe('classifyModel companions', () => {
  const companionsOf = (signals: ModelSignals) => classifyModel(signals)?.companions;
  const whisperFolder = (config: JsonObject, files = ['config.json', 'weights.npz']) => ({ config, files: new Set(files), weightsComplete: true });

  it.each([
    [51866, 'openai/whisper-large-v3-turbo'],
    [51865, 'openai/whisper-large-v2'],
    [51864, 'openai/whisper-medium.en'],
  ])('takes the tokenizer of a %i-token Whisper vocabulary from %s', (vocab, repo) => {
    expect(companionsOf(whisperFolder({ ...WHISPER_DIMS, n_vocab: vocab }))).toEqual([
      { repo, files: ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'], provides: 'the tokenizer' },
    ]);
  });

  it('names no repo for a vocabulary size no published Whisper has, nor for a Whisper that carries its tokenizer', () => {
    expect(companionsOf(whisperFolder({ ...WHISPER_DIMS, n_vocab: 1000 }))).toEqual([]);
    expect(companionsOf(whisperFolder(WHISPER_DIMS, ['config.json', 'weights.npz', 'tokenizer.json']))).toEqual([]);
  });

  it("takes DiffusionKit's text encoders from its two repos, and nothing for the other FLUX layouts", () => {
    const diffusionKit = { config: undefined, files: new Set(['flux-schnell.safetensors', 'ae.safetensors']), weightsComplete: true };
    expect(companionsOf(diffusionKit)?.map((companion) => companion.repo)).toEqual(['argmaxinc/stable-diffusion', 'google/t5-v1_1-xxl']);
    const mflux = ['transformer/0.safetensors', 'vae/0.safetensors', 'text_encoder/0.safetensors', 'text_encoder_2/0.safetensors'];
    expect(companionsOf({ config: undefined, files: new Set(mflux), weightsComplete: true })).toEqual([]);
  });

  it("takes F5-TTS's Vocos vocoder from lucasnewman/vocos-mel-24khz, which f5-tts-mlx loads by name", () => {
    const f5 = { config: undefined, files: new Set(['model_v1.safetensors', 'vocab.txt']), weightsComplete: true };
    expect(companionsOf(f5)).toEqual([{ repo: 'lucasnewman/vocos-mel-24khz', files: ['config.yaml', 'model.safetensors'], provides: 'the Vocos vocoder' }]);
  });
});

describe('text-to-speech voices', () => {
  it('clones registered voices with F5-TTS, where Kokoro speaks in the packs its folder ships', () => {
    const speech = (MODEL_FAMILIES as readonly FamilyDeclaration[]).filter((family) => family.kind === 'text-to-speech' && family.engine);
    expect(Object.fromEntries(speech.map((family) => [family.id, family.voices]))).toEqual({ kokoro: 'bundled', 'f5-tts': 'cloned' });
  });
});

describe('MODEL_FAMILIES', () => {
  it('names each family once', () => {
    const ids = MODEL_FAMILIES.map((family) => family.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives every chat family a tool-call format and no other family one', () => {
    for (const family of MODEL_FAMILIES as readonly FamilyDeclaration[]) {
      expect([family.id, family.toolCallFormat !== undefined]).toEqual([family.id, family.kind === 'chat']);
    }
  });

  it('lists the chat architectures the engine runs, for error messages', () => {
    expect(supportedFamilies('chat' satisfies ModelKind)).toEqual(['llama', 'mistral', 'qwen2', 'qwen3', 'qwen3_moe', 'gemma3_text', 'gemma3', 'phi3', 'gpt_oss', 'glm4_moe']);
    expect(supportedFamilies('embedding')).toEqual(['qwen3-embedding', 'bert', 'xlm-roberta', 'modernbert']);
    expect(supportedFamilies('rerank')).toEqual(['cross-encoder', 'qwen3-reranker']);
  });
});
