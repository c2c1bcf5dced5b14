import type { FixtureSpec } from './specs';

/**
 * How a tensor's random values are drawn, and whether it may be quantized (linear, embedding).
 * `router`: a plain routing matrix (GLM's MoE gate), drawn like a linear layer but never quantized.
 */
export type TensorRole = 'embedding' | 'linear' | 'norm' | 'offset-norm' | 'bias' | 'other' | 'router' | 'position-ids';

export interface PlannedTensor {
  name: string;
  shape: number[];
  role: TensorRole;
}

interface TextDims {
  modelType: string;
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  tied: boolean;
}

function num(config: Record<string, unknown>, key: string): number {
  const value = config[key];
  if (typeof value !== 'number') {
    throw new Error(`fixture config needs a numeric "${key}"`);
  }
  return value;
}

/** The text model's config: config.json, or its text_config in a multimodal checkpoint. */
export function textConfigOf(spec: FixtureSpec): Record<string, unknown> {
  return (spec.config['text_config'] as Record<string, unknown> | undefined) ?? spec.config;
}

function dims(config: Record<string, unknown>): TextDims {
  const hidden = num(config, 'hidden_size');
  const heads = num(config, 'num_attention_heads');
  const modelType = String(config['model_type']);
  return {
    modelType,
    vocab: num(config, 'vocab_size'),
    hidden,
    layers: num(config, 'num_hidden_layers'),
    heads,
    kvHeads: num(config, 'num_key_value_heads'),
    headDim: typeof config['head_dim'] === 'number' ? config['head_dim'] : hidden / heads,
    intermediate: num(config, 'intermediate_size'),
    tied: modelType === 'gemma3_text' || config['tie_word_embeddings'] === true,
  };
}

/**
 * The tensors of a checkpoint as Hugging Face (and mlx-community) name and shape them, written
 * down here independently of the engine's loader so that a naming mistake on either side shows.
 */
export function tensorLayout(spec: FixtureSpec): PlannedTensor[] {
  switch (spec.config['model_type']) {
    case 'bert':
    case 'xlm-roberta':
      return bertLayout(spec.config, spec.legacyPositionIds ?? false);
    case 'modernbert':
      return modernBertLayout(spec.config);
    default: {
      const tensors = decoderLayout(spec);
      // Saved from the bare Qwen3Model: `embed_tokens.weight`, `layers.0…`, `norm.weight`.
      return spec.bareDecoder ? tensors.map((t) => ({ ...t, name: t.name.replace(/^model\./, '') })) : tensors;
    }
  }
}

/**
 * BertModel / XLMRobertaModel (pooler included, as both save it), or a *ForSequenceClassification
 * with the encoder under `bert.` / `roberta.`: BERT's classifier is one Linear after the pooler,
 * RoBERTa's a dense + out_proj head and no pooler.
 */
function bertLayout(config: Record<string, unknown>, legacyPositionIds: boolean): PlannedTensor[] {
  const tensors: PlannedTensor[] = [];
  const add = (name: string, shape: number[], role: TensorRole) => tensors.push({ name, shape, role });
  const hidden = num(config, 'hidden_size');
  const intermediate = num(config, 'intermediate_size');
  const positions = num(config, 'max_position_embeddings');
  const roberta = config['model_type'] !== 'bert';
  const classifier = ((config['architectures'] as string[] | undefined) ?? []).some((name) => name.endsWith('ForSequenceClassification'));
  const prefix = classifier ? (roberta ? 'roberta.' : 'bert.') : '';
  const linear = (name: string, outFeatures: number, inFeatures: number) => {
    add(`${name}.weight`, [outFeatures, inFeatures], 'linear');
    add(`${name}.bias`, [outFeatures], 'bias');
  };
  const layerNorm = (name: string) => {
    add(`${name}.weight`, [hidden], 'norm');
    add(`${name}.bias`, [hidden], 'bias');
  };
  add(`${prefix}embeddings.word_embeddings.weight`, [num(config, 'vocab_size'), hidden], 'embedding');
  add(`${prefix}embeddings.position_embeddings.weight`, [positions, hidden], 'embedding');
  add(`${prefix}embeddings.token_type_embeddings.weight`, [num(config, 'type_vocab_size'), hidden], 'embedding');
  layerNorm(`${prefix}embeddings.LayerNorm`);
  if (legacyPositionIds) {
    add(`${prefix}embeddings.position_ids`, [1, positions], 'position-ids');
  }
  for (let i = 0; i < num(config, 'num_hidden_layers'); i++) {
    const p = `${prefix}encoder.layer.${i}`;
    for (const projection of ['query', 'key', 'value']) {
      linear(`${p}.attention.self.${projection}`, hidden, hidden);
    }
    linear(`${p}.attention.output.dense`, hidden, hidden);
    layerNorm(`${p}.attention.output.LayerNorm`);
    linear(`${p}.intermediate.dense`, intermediate, hidden);
    linear(`${p}.output.dense`, hidden, intermediate);
    layerNorm(`${p}.output.LayerNorm`);
  }
  if (!classifier || !roberta) {
    linear(`${prefix}pooler.dense`, hidden, hidden);
  }
  if (classifier && roberta) {
    linear('classifier.dense', hidden, hidden);
    linear('classifier.out_proj', 1, hidden);
  } else if (classifier) {
    linear('classifier', 1, hidden);
  }
  return tensors;
}

/** ModernBertModel: fused Wqkv, GeGLU Wi/Wo, bias-free norms, and no attention norm in layer 0. */
function modernBertLayout(config: Record<string, unknown>): PlannedTensor[] {
  const hidden = num(config, 'hidden_size');
  const intermediate = num(config, 'intermediate_size');
  const tensors: PlannedTensor[] = [
    { name: 'embeddings.tok_embeddings.weight', shape: [num(config, 'vocab_size'), hidden], role: 'embedding' },
    { name: 'embeddings.norm.weight', shape: [hidden], role: 'norm' },
  ];
  for (let i = 0; i < num(config, 'num_hidden_layers'); i++) {
    const p = `layers.${i}`;
    if (i > 0) {
      tensors.push({ name: `${p}.attn_norm.weight`, shape: [hidden], role: 'norm' });
    }
    tensors.push(
      { name: `${p}.attn.Wqkv.weight`, shape: [3 * hidden, hidden], role: 'linear' },
      { name: `${p}.attn.Wo.weight`, shape: [hidden, hidden], role: 'linear' },
      { name: `${p}.mlp_norm.weight`, shape: [hidden], role: 'norm' },
      { name: `${p}.mlp.Wi.weight`, shape: [2 * intermediate, hidden], role: 'linear' },
      { name: `${p}.mlp.Wo.weight`, shape: [hidden, intermediate], role: 'linear' },
    );
  }
  tensors.push({ name: 'final_norm.weight', shape: [hidden], role: 'norm' });
  return tensors;
}

function decoderLayout(spec: FixtureSpec): PlannedTensor[] {
  const config = textConfigOf(spec);
  const d = dims(config);
  const tensors: PlannedTensor[] = [];
  const add = (name: string, shape: number[], role: TensorRole) => tensors.push({ name, shape, role });
  const isGemma = d.modelType === 'gemma3_text';
  const normRole: TensorRole = isGemma ? 'offset-norm' : 'norm';
  const hasQkNorm = ['qwen3', 'qwen3_moe', 'gemma3_text'].includes(d.modelType);
  const qkvBias = d.modelType === 'qwen2' || config['attention_bias'] === true;
  const isGptOss = d.modelType === 'gpt_oss';
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;

  add('model.embed_tokens.weight', [d.vocab, d.hidden], 'embedding');
  for (let i = 0; i < d.layers; i++) {
    const p = `model.layers.${i}`;
    if (d.modelType === 'phi3') {
      add(`${p}.self_attn.qkv_proj.weight`, [q + 2 * kv, d.hidden], 'linear');
    } else {
      for (const [proj, rows] of [['q_proj', q], ['k_proj', kv], ['v_proj', kv]] as const) {
        add(`${p}.self_attn.${proj}.weight`, [rows, d.hidden], 'linear');
        if (qkvBias) {
          add(`${p}.self_attn.${proj}.bias`, [rows], 'bias');
        }
      }
    }
    add(`${p}.self_attn.o_proj.weight`, [d.hidden, q], 'linear');
    if (isGptOss) {
      add(`${p}.self_attn.o_proj.bias`, [d.hidden], 'bias');
      add(`${p}.self_attn.sinks`, [d.heads], 'bias');
    }
    if (hasQkNorm) {
      add(`${p}.self_attn.q_norm.weight`, [d.headDim], normRole);
      add(`${p}.self_attn.k_norm.weight`, [d.headDim], normRole);
    }
    addMlp(spec, config, d, i, add);
    add(`${p}.input_layernorm.weight`, [d.hidden], normRole);
    add(`${p}.post_attention_layernorm.weight`, [d.hidden], normRole);
    if (isGemma) {
      add(`${p}.pre_feedforward_layernorm.weight`, [d.hidden], normRole);
      add(`${p}.post_feedforward_layernorm.weight`, [d.hidden], normRole);
    }
  }
  if (d.modelType === 'glm4_moe') {
    // GLM checkpoints carry a multi-token-prediction layer after the last one; the engine must skip it.
    const mtp = `model.layers.${d.layers}`;
    add(`${mtp}.eh_proj.weight`, [d.hidden, 2 * d.hidden], 'other');
    add(`${mtp}.enorm.weight`, [d.hidden], 'norm');
    add(`${mtp}.hnorm.weight`, [d.hidden], 'norm');
    add(`${mtp}.self_attn.q_proj.weight`, [q, d.hidden], 'other');
  }
  add('model.norm.weight', [d.hidden], normRole);
  if (!d.tied && !spec.withoutLmHead) {
    add('lm_head.weight', [d.vocab, d.hidden], 'linear');
  }

  if (spec.config['model_type'] === 'gemma3') {
    // The multimodal checkpoint nests the text model and carries a vision tower the engine must skip.
    const text = tensors.map((t) => ({ ...t, name: `language_model.${t.name}` }));
    return [
      ...text,
      { name: 'vision_tower.vision_model.embeddings.patch_embedding.weight', shape: [8, 14, 14, 3], role: 'other' },
      { name: 'multi_modal_projector.mm_input_projection_weight', shape: [8, d.hidden], role: 'other' },
    ];
  }
  return tensors;
}

function addMlp(
  spec: FixtureSpec,
  config: Record<string, unknown>,
  d: TextDims,
  layer: number,
  add: (name: string, shape: number[], role: TensorRole) => void,
): void {
  const p = `model.layers.${layer}.mlp`;
  if (d.modelType === 'phi3') {
    add(`${p}.gate_up_proj.weight`, [2 * d.intermediate, d.hidden], 'linear');
    add(`${p}.down_proj.weight`, [d.hidden, d.intermediate], 'linear');
    return;
  }
  if (d.modelType === 'gpt_oss') {
    const experts = num(config, 'num_local_experts');
    add(`${p}.router.weight`, [experts, d.hidden], 'linear');
    add(`${p}.router.bias`, [experts], 'bias');
    // mlx-community's layout: experts stacked under experts.<proj>, gate and up already split apart.
    for (const [proj, rows, cols] of [['gate_proj', d.intermediate, d.hidden], ['up_proj', d.intermediate, d.hidden], ['down_proj', d.hidden, d.intermediate]] as const) {
      add(`${p}.experts.${proj}.weight`, [experts, rows, cols], 'linear');
      add(`${p}.experts.${proj}.bias`, [experts, rows], 'bias');
    }
    return;
  }
  if (d.modelType === 'glm4_moe' && layer >= num(config, 'first_k_dense_replace')) {
    const experts = num(config, 'n_routed_experts');
    const width = num(config, 'moe_intermediate_size');
    const shared = width * num(config, 'n_shared_experts');
    add(`${p}.gate.weight`, [experts, d.hidden], 'router');
    add(`${p}.gate.e_score_correction_bias`, [experts], 'bias');
    for (const [proj, rows, cols] of [['gate_proj', width, d.hidden], ['up_proj', width, d.hidden], ['down_proj', d.hidden, width]] as const) {
      if (spec.expertLayout === 'stacked') {
        add(`${p}.switch_mlp.${proj}.weight`, [experts, rows, cols], 'linear');
      } else {
        for (let e = 0; e < experts; e++) {
          add(`${p}.experts.${e}.${proj}.weight`, [rows, cols], 'linear');
        }
      }
    }
    for (const [proj, rows, cols] of [['gate_proj', shared, d.hidden], ['up_proj', shared, d.hidden], ['down_proj', d.hidden, shared]] as const) {
      add(`${p}.shared_experts.${proj}.weight`, [rows, cols], 'linear');
    }
    return;
  }
  const mlpOnly = (config['mlp_only_layers'] as number[] | undefined) ?? [];
  if (d.modelType === 'qwen3_moe' && !mlpOnly.includes(layer)) {
    const experts = num(config, 'num_experts');
    const width = num(config, 'moe_intermediate_size');
    add(`${p}.gate.weight`, [experts, d.hidden], 'linear');
    const projections = [['gate_proj', [width, d.hidden]], ['up_proj', [width, d.hidden]], ['down_proj', [d.hidden, width]]] as const;
    for (const [proj, shape] of projections) {
      if (spec.expertLayout === 'stacked') {
        add(`${p}.switch_mlp.${proj}.weight`, [experts, ...shape], 'linear');
      } else {
        for (let e = 0; e < experts; e++) {
          add(`${p}.experts.${e}.${proj}.weight`, [...shape], 'linear');
        }
      }
    }
    return;
  }
  const bias = config['mlp_bias'] === true;
  for (const [proj, shape] of [['gate_proj', [d.intermediate, d.hidden]], ['up_proj', [d.intermediate, d.hidden]], ['down_proj', [d.hidden, d.intermediate]]] as const) {
    add(`${p}.${proj}.weight`, [...shape], 'linear');
    if (bias) {
      add(`${p}.${proj}.bias`, [shape[0]], 'bias');
    }
  }
}
