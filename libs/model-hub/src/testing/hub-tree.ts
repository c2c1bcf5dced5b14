import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ModelKind } from '@mlx-omni/model-families';
import { repoFolderName } from '../model-id';

/** Files of a model folder: "/"-separated relative path → content. */
export type FileTree = Readonly<Record<string, string | Buffer>>;

/** A temporary folder for one test, removed by the returned cleanup. */
export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'model-hub-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The 40-hex commit id huggingface_hub names snapshot folders by, derived from a label for readable tests. */
export function commitOf(label: string): string {
  return createHash('sha1').update(label).digest('hex');
}

/**
 * Writes a snapshot as huggingface_hub lays out its cache: each file's content once under
 * `blobs/<sha256>`, a relative symlink to it from `snapshots/<revision>/<path>`, and `refs/main`
 * naming the revision (left alone with `setMain: false`). Returns the snapshot folder.
 */
export async function writeHubSnapshot(
  hubCache: string,
  repoId: string,
  revision: string,
  files: FileTree,
  { setMain = true }: { setMain?: boolean } = {},
): Promise<string> {
  const repoDir = join(hubCache, repoFolderName(repoId));
  const snapshot = join(repoDir, 'snapshots', revision);
  await mkdir(join(repoDir, 'blobs'), { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    const blob = createHash('sha256').update(content).digest('hex');
    await writeFile(join(repoDir, 'blobs', blob), content);
    const link = join(snapshot, path);
    await mkdir(dirname(link), { recursive: true });
    const depth = path.split('/').length + 1;
    await symlink(`${'../'.repeat(depth)}blobs/${blob}`, link);
  }
  await mkdir(snapshot, { recursive: true });
  if (setMain) {
    await mkdir(join(repoDir, 'refs'), { recursive: true });
    await writeFile(join(repoDir, 'refs', 'main'), revision);
  }
  return snapshot;
}

/** A plain model folder, as `huggingface-cli download --local-dir` or LM Studio leave them. */
export async function writeModelFolder(dir: string, files: FileTree): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Sets every mtime under `dir` (and `dir`'s own) an hour back, as a cache looks that nobody is
 * writing to: the catalog only trusts listings of a cache whose last change has settled.
 */
export async function backdate(dir: string): Promise<void> {
  const past = new Date(Date.now() - 3_600_000);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      await backdate(join(dir, entry.name));
    } else if (!entry.isSymbolicLink()) {
      await utimes(join(dir, entry.name), past, past);
    }
  }
  await utimes(dir, past, past);
}

const json = (value: unknown): string => JSON.stringify(value);

/** The tree without some of its files: a download cut short. */
export function without(files: FileTree, ...paths: string[]): FileTree {
  return Object.fromEntries(Object.entries(files).filter(([path]) => !paths.includes(path)));
}

/** Bytes standing in for weights; only their size matters to discovery. */
export function weights(bytes: number): Buffer {
  return Buffer.alloc(bytes, 7);
}

const tokenizer = json({ model: { type: 'BPE' } });

/** One small model of each servable kind, in the layout the tool that makes such models writes. */
export const MODEL_FILES: Readonly<Record<ModelKind, FileTree>> = {
  // mlx-lm, 4-bit: MLX's quantization block under both names.
  chat: {
    'config.json': json({
      model_type: 'qwen3',
      architectures: ['Qwen3ForCausalLM'],
      max_position_embeddings: 40960,
      quantization: { group_size: 64, bits: 4 },
      quantization_config: { group_size: 64, bits: 4 },
    }),
    'tokenizer.json': tokenizer,
    'tokenizer_config.json': json({ chat_template: '{{ messages }}' }),
    'model.safetensors': weights(1000),
  },
  embedding: {
    'config.json': json({ model_type: 'bert', architectures: ['BertModel'], max_position_embeddings: 512 }),
    'modules.json': json([{ idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' }]),
    'tokenizer.json': tokenizer,
    'model.safetensors': weights(300),
  },
  // A sentence-transformers CrossEncoder: a BERT with a one-logit classification head.
  rerank: {
    'config.json': json({ model_type: 'bert', architectures: ['BertForSequenceClassification'], num_labels: 1, max_position_embeddings: 512 }),
    'tokenizer.json': tokenizer,
    'model.safetensors': weights(300),
  },
  // mlx-whisper: its ten dimensions and no model_type (older conversions), no tokenizer, weights.npz.
  'speech-to-text': {
    'config.json': json({
      n_mels: 80, n_audio_ctx: 1500, n_audio_state: 384, n_audio_head: 6, n_audio_layer: 4,
      n_vocab: 51865, n_text_ctx: 448, n_text_state: 384, n_text_head: 6, n_text_layer: 4,
    }),
    'weights.npz': weights(400),
  },
  // mlx-community/Kokoro-82M-*: hexgrad's config (no model_type), the weights, and one file per voice.
  'text-to-speech': {
    'config.json': json({ istftnet: { upsample_rates: [10, 6] }, plbert: { hidden_size: 768 }, vocab: { a: 43 }, n_mels: 80 }),
    'kokoro-v1_0.safetensors': weights(200),
    'voices/af_heart.safetensors': weights(20),
  },
  image: {
    'model_index.json': json({ _class_name: 'FluxPipeline' }),
    'transformer/config.json': json({ _class_name: 'FluxTransformer2DModel' }),
    'transformer/diffusion_pytorch_model.safetensors': weights(500),
    'vae/config.json': json({ _class_name: 'AutoencoderKL' }),
    'vae/diffusion_pytorch_model.safetensors': weights(100),
  },
};
