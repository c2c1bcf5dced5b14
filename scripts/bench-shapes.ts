/** The matrices of a Llama-shaped model, from its config.json, for the benchmarks that time products over the same bytes. */
export interface Shapes {
  /** [out, in] of every matrix one token multiplies by, lm_head included. */
  matrices: Array<[number, number]>;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

export function modelShapes(config: Record<string, unknown>): Shapes {
  const n = (key: string) => config[key] as number;
  const hidden = n('hidden_size');
  const heads = n('num_attention_heads');
  const headDim = (config['head_dim'] as number | undefined) ?? hidden / heads;
  const kv = n('num_key_value_heads') * headDim;
  const inter = n('intermediate_size');
  const layer: Array<[number, number]> = [
    [heads * headDim, hidden], [kv, hidden], [kv, hidden], [hidden, heads * headDim],
    [inter, hidden], [inter, hidden], [hidden, inter],
  ];
  return {
    matrices: [...Array.from({ length: n('num_hidden_layers') }, () => layer).flat(), [n('vocab_size'), hidden]],
    layers: n('num_hidden_layers'),
    heads,
    kvHeads: n('num_key_value_heads'),
    headDim,
  };
}
