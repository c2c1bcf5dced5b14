import { classifyModel, readContextLength, readQuantization, type JsonObject, type ModelKind } from './classify';

const LM_FILES = ['config.json', 'tokenizer.json', 'model.safetensors'];

function kindOf(config: JsonObject | undefined, files: string[], weightsComplete = true): ModelKind {
  return classifyModel({ config, files: new Set(files), weightsComplete });
}

describe('classifyModel', () => {
  it.each<[string, JsonObject | undefined, string[], ModelKind]>([
    ['a causal LM by architecture', { model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'] }, LM_FILES, 'chat'],
    ['a causal LM by model_type when architectures are missing', { model_type: 'mistral' }, ['config.json', 'tokenizer.model', 'model.safetensors'], 'chat'],
    ['a byte-level BPE tokenizer in vocab.json + merges.txt', { architectures: ['LlamaForCausalLM'] }, ['config.json', 'vocab.json', 'merges.txt', 'model.safetensors'], 'chat'],
    ['a tiktoken tokenizer', { architectures: ['SomeNewForCausalLM'] }, ['config.json', 'tiktoken.model.tiktoken', 'model.safetensors'], 'chat'],
    ['a multimodal model with a text tower', { model_type: 'gemma3', architectures: ['Gemma3ForConditionalGeneration'], text_config: {} }, LM_FILES, 'chat'],
    ['a seq2seq model without a text tower', { model_type: 't5', architectures: ['T5ForConditionalGeneration'] }, LM_FILES, 'unknown'],
    ['a sentence-transformers BERT', { model_type: 'bert', architectures: ['BertModel'] }, [...LM_FILES, 'modules.json'], 'embedding'],
    ['a headless nomic_bert encoder', { model_type: 'nomic_bert', architectures: ['NomicBertModel'] }, ['config.json', 'vocab.txt', 'model.safetensors'], 'embedding'],
    ['a BERT with a masked-LM head', { model_type: 'bert', architectures: ['BertForMaskedLM'] }, ['config.json', 'vocab.txt', 'model.safetensors'], 'unknown'],
    ['a decoder shipped as a sentence-transformer', { model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'] }, [...LM_FILES, 'config_sentence_transformers.json'], 'embedding'],
    ['a transformers Whisper (a *ForConditionalGeneration)', { model_type: 'whisper', architectures: ['WhisperForConditionalGeneration'] }, ['config.json', 'model.safetensors'], 'speech-to-text'],
    ['an mlx-whisper folder', { n_mels: 80, n_vocab: 51865 }, ['config.json', 'weights.npz'], 'speech-to-text'],
    ['n_mels without mlx-whisper weights', { n_mels: 80 }, ['config.json', 'model.safetensors'], 'unknown'],
    ['a Kokoro voice model', { model_type: 'kokoro' }, ['config.json', 'kokoro-v1_0.safetensors'], 'text-to-speech'],
    ['a diffusers pipeline', undefined, ['model_index.json', 'transformer/diffusion_pytorch_model.safetensors', 'vae/config.json'], 'image'],
    ['mflux transformer/ and vae/ folders', undefined, ['transformer/0.safetensors', 'vae/0.safetensors', 'text_encoder/0.safetensors'], 'image'],
    ['no config at all', undefined, ['model.safetensors'], 'unknown'],
  ])('%s', (_case, config, files, kind) => {
    expect(kindOf(config, files)).toBe(kind);
  });

  it("is 'unknown' when the matching rule's needs are missing, without falling through to a later rule", () => {
    const chat = { model_type: 'llama', architectures: ['LlamaForCausalLM'] };
    expect(kindOf(chat, ['config.json', 'model.safetensors'])).toBe('unknown');
    expect(kindOf(chat, LM_FILES, false)).toBe('unknown');
    // Matches the embedding rule (modules.json) but has no tokenizer; the chat rule must not claim it.
    expect(kindOf(chat, ['config.json', 'modules.json', 'model.safetensors'])).toBe('unknown');
  });
});

describe('readQuantization', () => {
  it("reads MLX's block, and other quantizers' quantization_config", () => {
    expect(readQuantization({ quantization: { group_size: 64, bits: 4, 'model.embed_tokens': { bits: 8 } } })).toEqual({ bits: 4, groupSize: 64 });
    expect(readQuantization({ quantization_config: { group_size: 128, bits: 8, quant_method: 'gptq' } })).toEqual({ bits: 8, groupSize: 128 });
  });

  it('is undefined for full-precision models and blocks without bits and group size', () => {
    expect(readQuantization({ torch_dtype: 'bfloat16' })).toBeUndefined();
    expect(readQuantization({ quantization_config: { quant_method: 'fp8' } })).toBeUndefined();
    expect(readQuantization(undefined)).toBeUndefined();
  });
});

describe('readContextLength', () => {
  it.each<[JsonObject, number | undefined]>([
    [{ max_position_embeddings: 40960 }, 40960],
    [{ n_positions: 1024 }, 1024],
    [{ model_type: 'gemma3', text_config: { max_position_embeddings: 131072 } }, 131072],
    [{ max_position_embeddings: 'long' }, undefined],
    [{ hidden_size: 64 }, undefined],
  ])('%j → %p', (config, length) => {
    expect(readContextLength(config)).toBe(length);
  });
});
