import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A float32 Llama checkpoint in Hugging Face layout (config.json, safetensors, tokenizer.json) written
 * as GGUF v3 with F32 tensors, as llama.cpp's convert_hf_to_gguf.py writes it: llama.cpp's names,
 * q/k rows permuted for its interleaved rope, the SentencePiece-style vocabulary with its scores
 * and token types. For the side-by-side with llama.cpp on the same weights (scripts/bench-llama.ts).
 */

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const GGUF_VERSION = 3;
const ALIGNMENT = 32;
const GGML_TYPE_F32 = 0;
const LLAMA_FILE_TYPE_ALL_F32 = 0;

/** GGUF metadata value types. */
const enum ValueType {
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
}

/** llama.cpp's token types (llama_token_type). */
const enum TokenType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  Byte = 6,
}

type MetadataValue =
  | { type: ValueType.Uint32 | ValueType.Int32 | ValueType.Float32; value: number }
  | { type: ValueType.Bool; value: boolean }
  | { type: ValueType.String; value: string }
  | { type: ValueType.Array; of: ValueType.String; values: string[] }
  | { type: ValueType.Array; of: ValueType.Float32 | ValueType.Int32; values: number[] };

const u32 = (value: number): MetadataValue => ({ type: ValueType.Uint32, value });
const f32 = (value: number): MetadataValue => ({ type: ValueType.Float32, value });

/** Appends little-endian GGUF fields to a growing list of buffers. */
class Encoder {
  readonly parts: Buffer[] = [];
  length = 0;

  private push(buffer: Buffer): void {
    this.parts.push(buffer);
    this.length += buffer.length;
  }

  uint32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    this.push(b);
  }

  int32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    this.push(b);
  }

  uint64(value: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(value));
    this.push(b);
  }

  float32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.push(b);
  }

  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.uint64(bytes.length);
    this.push(bytes);
  }

  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad > 0) {
      this.push(Buffer.alloc(pad));
    }
  }

  value(entry: MetadataValue): void {
    this.uint32(entry.type);
    switch (entry.type) {
      case ValueType.Uint32:
        return this.uint32(entry.value);
      case ValueType.Int32:
        return this.int32(entry.value);
      case ValueType.Float32:
        return this.float32(entry.value);
      case ValueType.Bool:
        return this.push(Buffer.from([entry.value ? 1 : 0]));
      case ValueType.String:
        return this.string(entry.value);
      case ValueType.Array:
        this.uint32(entry.of);
        this.uint64(entry.values.length);
        for (const item of entry.values) {
          if (entry.of === ValueType.String) {
            this.string(item as string);
          } else if (entry.of === ValueType.Float32) {
            this.float32(item as number);
          } else {
            this.int32(item as number);
          }
        }
    }
  }
}

interface SourceTensor {
  file: string;
  /** numpy order: [out, in] for a matrix. */
  shape: number[];
  /** Byte range in the file. */
  start: number;
  end: number;
}

/** Every tensor of a snapshot's safetensors files (one file or an index of shards), by name. */
function safetensorsTensors(dir: string): Map<string, SourceTensor> {
  const index = join(dir, 'model.safetensors.index.json');
  const files = existsSync(index)
    ? [...new Set(Object.values((JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map))]
    : ['model.safetensors'];
  const tensors = new Map<string, SourceTensor>();
  for (const name of files) {
    const file = join(dir, name);
    const fd = openSync(file, 'r');
    try {
      const size = Buffer.alloc(8);
      readSync(fd, size, 0, 8, 0);
      const headerLength = Number(size.readBigUInt64LE());
      const header = Buffer.alloc(headerLength);
      readSync(fd, header, 0, headerLength, 8);
      const entries = JSON.parse(header.toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
      for (const [tensor, entry] of Object.entries(entries)) {
        if (tensor === '__metadata__') {
          continue;
        }
        if (entry.dtype !== 'F32') {
          throw new Error(`${tensor} is ${entry.dtype}; the GGUF writer takes float32 checkpoints only`);
        }
        const base = 8 + headerLength;
        tensors.set(tensor, { file, shape: entry.shape, start: base + entry.data_offsets[0], end: base + entry.data_offsets[1] });
      }
    } finally {
      closeSync(fd);
    }
  }
  return tensors;
}

/** llama.cpp's name for a Hugging Face Llama tensor. */
function ggufName(name: string): string {
  const global: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'lm_head.weight': 'output.weight',
  };
  if (global[name] !== undefined) {
    return global[name];
  }
  const layer = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(name);
  const parts: Record<string, string> = {
    'self_attn.q_proj': 'attn_q',
    'self_attn.k_proj': 'attn_k',
    'self_attn.v_proj': 'attn_v',
    'self_attn.o_proj': 'attn_output',
    'mlp.gate_proj': 'ffn_gate',
    'mlp.up_proj': 'ffn_up',
    'mlp.down_proj': 'ffn_down',
    input_layernorm: 'attn_norm',
    post_attention_layernorm: 'ffn_norm',
  };
  if (layer === null || parts[layer[2]] === undefined) {
    throw new Error(`no llama.cpp name for ${name}`);
  }
  return `blk.${layer[1]}.${parts[layer[2]]}.weight`;
}

/**
 * convert_hf_to_gguf.py's `permute`: within each head, the rows of the rotate-half layout
 * (first half, second half) become interleaved pairs, which is what llama.cpp's rope rotates.
 */
function permuteForRope(rows: Float32Array, heads: number, columns: number): Float32Array {
  const headRows = rows.length / columns / heads;
  const half = headRows / 2;
  const out = new Float32Array(rows.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      for (let t = 0; t < 2; t++) {
        const from = (h * headRows + t * half + j) * columns;
        const to = (h * headRows + 2 * j + t) * columns;
        out.set(rows.subarray(from, from + columns), to);
      }
    }
  }
  return out;
}

interface TokenizerJson {
  model: { vocab: Record<string, number> };
  added_tokens: Array<{ id: number; content: string; special: boolean }>;
}

/** The tokenizer.ggml.* keys for a Llama-2 style (SentencePiece, byte fallback) tokenizer.json. */
function tokenizerMetadata(dir: string, config: Record<string, unknown>): Array<[string, MetadataValue]> {
  const tokenizer = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  const size = config['vocab_size'] as number;
  const tokens: string[] = Array.from({ length: size }, (_, id) => `[PAD${id}]`);
  for (const [piece, id] of Object.entries(tokenizer.model.vocab)) {
    tokens[id] = piece;
  }
  const special = new Map(tokenizer.added_tokens.map((token) => [token.id, token]));
  for (const [id, token] of special) {
    tokens[id] = token.content;
  }
  const types = tokens.map((piece, id) =>
    piece === '<unk>' ? TokenType.Unknown : special.get(id)?.special ? TokenType.Control : /^<0x[0-9A-F]{2}>$/.test(piece) ? TokenType.Byte : TokenType.Normal,
  );
  // SentencePiece merges the pair whose result scores highest; Llama's model orders its pieces by
  // score, so a score falling with the id merges in the same order as the original.
  const scores = types.map((type, id) => (type === TokenType.Normal ? -id : 0));
  return [
    ['tokenizer.ggml.model', { type: ValueType.String, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: ValueType.Array, of: ValueType.String, values: tokens }],
    ['tokenizer.ggml.scores', { type: ValueType.Array, of: ValueType.Float32, values: scores }],
    ['tokenizer.ggml.token_type', { type: ValueType.Array, of: ValueType.Int32, values: types }],
    ['tokenizer.ggml.bos_token_id', u32(config['bos_token_id'] as number)],
    ['tokenizer.ggml.eos_token_id', u32(config['eos_token_id'] as number)],
    ['tokenizer.ggml.unknown_token_id', u32(tokens.indexOf('<unk>'))],
    ['tokenizer.ggml.add_bos_token', { type: ValueType.Bool, value: true }],
    ['tokenizer.ggml.add_eos_token', { type: ValueType.Bool, value: false }],
  ];
}

/** Writes `outFile` (through a temporary name, so a half-written file is never taken for a model). */
export function writeLlamaGguf(snapshotDir: string, outFile: string, name: string): void {
  const config = JSON.parse(readFileSync(join(snapshotDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  // Mistral without a sliding window is Llama's architecture (convert_hf_to_gguf.py writes both as llama).
  const llamaShaped = config['model_type'] === 'llama' || (config['model_type'] === 'mistral' && (config['sliding_window'] ?? null) === null);
  if (!llamaShaped) {
    throw new Error(`the GGUF writer writes llama checkpoints, not ${String(config['model_type'])}`);
  }
  const n = (key: string) => config[key] as number;
  const heads = n('num_attention_heads');
  const kvHeads = n('num_key_value_heads');
  const headDim = (config['head_dim'] as number | undefined) ?? n('hidden_size') / heads;
  const metadata: Array<[string, MetadataValue]> = [
    ['general.architecture', { type: ValueType.String, value: 'llama' }],
    ['general.name', { type: ValueType.String, value: name }],
    ['general.file_type', u32(LLAMA_FILE_TYPE_ALL_F32)],
    ['general.alignment', u32(ALIGNMENT)],
    ['llama.vocab_size', u32(n('vocab_size'))],
    ['llama.context_length', u32(n('max_position_embeddings'))],
    ['llama.embedding_length', u32(n('hidden_size'))],
    ['llama.block_count', u32(n('num_hidden_layers'))],
    ['llama.feed_forward_length', u32(n('intermediate_size'))],
    ['llama.attention.head_count', u32(heads)],
    ['llama.attention.head_count_kv', u32(kvHeads)],
    ['llama.attention.key_length', u32(headDim)],
    ['llama.attention.value_length', u32(headDim)],
    ['llama.rope.dimension_count', u32(headDim)],
    ['llama.rope.freq_base', f32(n('rope_theta'))],
    ['llama.attention.layer_norm_rms_epsilon', f32(n('rms_norm_eps'))],
    ...tokenizerMetadata(snapshotDir, config),
  ];

  const sources = safetensorsTensors(snapshotDir);
  // A tied lm_head is left out: llama.cpp then multiplies by token_embd, as the checkpoint does.
  const tensors = [...sources].map(([source, tensor]) => ({ source, name: ggufName(source), ...tensor }));
  const header = new Encoder();
  header.uint32(GGUF_MAGIC);
  header.uint32(GGUF_VERSION);
  header.uint64(tensors.length);
  header.uint64(metadata.length);
  for (const [key, value] of metadata) {
    header.string(key);
    header.value(value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const tensor of tensors) {
    header.string(tensor.name);
    header.uint32(tensor.shape.length);
    // GGUF lists dimensions innermost first: numpy's [out, in] is [in, out].
    for (const dim of [...tensor.shape].reverse()) {
      header.uint64(dim);
    }
    header.uint32(GGML_TYPE_F32);
    header.uint64(offset);
    offsets.push(offset);
    offset += Math.ceil((tensor.end - tensor.start) / ALIGNMENT) * ALIGNMENT;
  }
  header.padTo(ALIGNMENT);

  const partial = `${outFile}.partial`;
  const out = openSync(partial, 'w');
  try {
    for (const part of header.parts) {
      writeSync(out, part);
    }
    tensors.forEach((tensor, i) => {
      const bytes = Buffer.alloc(tensor.end - tensor.start);
      const fd = openSync(tensor.file, 'r');
      try {
        readSync(fd, bytes, 0, bytes.length, tensor.start);
      } finally {
        closeSync(fd);
      }
      let data: Uint8Array = bytes;
      if (tensor.source.endsWith('q_proj.weight') || tensor.source.endsWith('k_proj.weight')) {
        const rows = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
        const permuted = permuteForRope(rows, tensor.source.endsWith('q_proj.weight') ? heads : kvHeads, tensor.shape[1]);
        data = new Uint8Array(permuted.buffer);
      }
      writeSync(out, data, 0, data.length, header.length + offsets[i]);
    });
  } finally {
    closeSync(out);
  }
  renameSync(partial, outFile);
}
