import type { ArtifactRef } from './artifacts';
import type { SpeechPayload, SpeechResult } from './speech';

/**
 * The one declaration of every long-job queue: queue name → job name → payload and result.
 * The API's producer and the worker's processors import these types, so they cannot disagree.
 * A new capability (image generation, speech synthesis, model download) adds a queue here and a processor.
 */
export interface JobContract {
  diagnostics: {
    'matmul-self-test': {
      payload: MatmulSelfTestPayload;
      result: MatmulSelfTestResult;
    };
  };
  'model-download': {
    pull: {
      payload: ModelPullPayload;
      result: ModelPullResult;
    };
  };
  images: {
    generate: {
      payload: ImageGenerationPayload;
      result: ImageGenerationResult;
    };
  };
  speech: {
    synthesize: {
      payload: SpeechPayload;
      result: SpeechResult;
    };
  };
}

export type QueueName = keyof JobContract;
export type JobName<Q extends QueueName> = keyof JobContract[Q] & string;
export type JobPayload<Q extends QueueName, N extends JobName<Q>> = JobContract[Q][N] extends { payload: infer P } ? P : never;
export type JobResult<Q extends QueueName, N extends JobName<Q>> = JobContract[Q][N] extends { result: infer R } ? R : never;

export interface QueueSettings {
  /** Tries before a job is failed for good; transient faults (a worker crash) are retried. */
  attempts: number;
  backoffMs: number;
  /** Concurrency of one worker process for this queue: long MLX jobs run one at a time. */
  concurrency: number;
}

/** Keyed by every queue of the contract, so adding a queue without its settings does not compile. */
export const QUEUE_SETTINGS: Record<QueueName, QueueSettings> = {
  diagnostics: { attempts: 3, backoffMs: 1_000, concurrency: 1 },
  // Network faults are common on multi-gigabyte pulls; each retry resumes the partial file.
  'model-download': { attempts: 5, backoffMs: 2_000, concurrency: 2 },
  // A worker crash mid-image is retried once; the device renders one image job at a time per worker.
  images: { attempts: 2, backoffMs: 1_000, concurrency: 1 },
  // One synthesis per worker at a time: it takes turns on the device with chat, and a second would only queue there.
  speech: { attempts: 2, backoffMs: 1_000, concurrency: 1 },
};

export const QUEUE_NAMES = Object.keys(QUEUE_SETTINGS) as QueueName[];

/** Checks that the backend's matrix multiply is correct and measures how fast it is (e.g. whether OpenBLAS is in use). */
export interface MatmulSelfTestPayload {
  /** Square matrix size. */
  size: number;
}

/** Shown to API clients as the job's `result`, hence the wire-style names. */
export interface MatmulSelfTestResult {
  worker_id: string;
  device: 'cpu' | 'gpu';
  size: number;
  /** Largest difference between MLX's product and a float64 reference on sampled entries. */
  max_abs_error: number;
  gflops: number;
  seconds: number;
}

/** Downloads a model repo from the Hugging Face Hub into the hub cache; its progress is model-hub's DownloadProgress. */
export interface ModelPullPayload {
  /** `org/name` on the Hub. */
  model: string;
  /** A branch, tag or commit; `main` when the client named none. */
  revision: string;
}

export interface ModelPullResult {
  model: string;
  revision: string;
  /** The commit the revision named; the snapshot folder's name. */
  commit: string;
  /** The snapshot folder in the hub cache. */
  path: string;
  files: number;
  bytes_total: number;
  /** Less than bytes_total when files were already cached or a partial file was resumed. */
  bytes_downloaded: number;
  /** Files pulled from other repos because the model needs them (a Whisper conversion's tokenizer, from openai/whisper-*). */
  companions: Array<{ model: string; commit: string; files: number }>;
}

export type ImageOutputFormat = 'png' | 'jpeg' | 'webp';

/** Text-to-image: `n` pictures of one prompt (the prompt travels here; the pictures come back as files). */
export interface ImageGenerationPayload {
  /** The id the request named, for logs and the result. */
  model: string;
  /** The model folder the API resolved it to. */
  path: string;
  prompt: string;
  n: number;
  width: number;
  height: number;
  /** Denoising steps and guidance; null: the model's defaults (schnell 4, dev 25 at 3.5). */
  steps: number | null;
  guidance: number | null;
  /** Image i uses seed + i; null: a random seed per image. */
  seed: number | null;
  output_format: ImageOutputFormat;
  /** 0-100 for jpeg and webp; null: 100. */
  output_compression: number | null;
}

/** While it runs, GET /v1/jobs/{id} shows this as the job's progress. */
export interface ImageGenerationProgress {
  /** Denoising steps done of the current image, and its index among `images`. */
  step: number;
  steps: number;
  image: number;
  images: number;
}

export interface GeneratedImageFile {
  file: ArtifactRef;
  seed: number;
}

export interface ImageGenerationResult {
  model: string;
  images: GeneratedImageFile[];
  width: number;
  height: number;
  steps: number;
  /** The guidance dev used; null for schnell, which has none. */
  guidance: number | null;
  output_format: ImageOutputFormat;
  /** Tokens the prompt took in T5 and whether it was cut to the model's 256 (schnell) or 512 (dev). */
  prompt_tokens: number;
  prompt_truncated: boolean;
  seconds: number;
}

/**
 * The creating key's name travels in the job's data (BullMQ has no other per-job field) beside the
 * payload's own fields; processors that write files read it to give them the same owner.
 */
export const JOB_OWNER_FIELD = 'requested_by';

/** The API key's name that enqueued the job ('' when unknown). */
export function jobOwner(data: unknown): string {
  const owner = (data as Record<string, unknown> | undefined)?.[JOB_OWNER_FIELD];
  return typeof owner === 'string' ? owner : '';
}
